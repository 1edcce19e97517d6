/**
 * Deno's own TCP as a benchmark peer, one `deno run` process per end: the reference over
 * 127.0.0.1, and the Linux side of the TAP benchmark (run inside a network namespace).
 * Modes (servers listen on ADDR, port PORT or 0 for any, and print the port first):
 *   sink ADDR PORT             accept one connection, time first byte → EOF: {bytes, ms}
 *   source HOST PORT MB LEN    send MB mebibytes in LEN-byte writes, then close: {ms}
 *   acceptor ADDR PORT         accept and close connections until killed
 *   connector HOST PORT N MS   up to N × (connect, wait for the server's close, close), stopping
 *                              after MS milliseconds: {ms, n}
 *   connshut HOST PORT N MS    up to N × (connect, shut down writing, wait for the server's
 *                              close, close) within MS milliseconds: {ms, n}
 *   crr HOST PORT N MS         up to N × (connect, send 64 bytes, read the 64-byte echo, close)
 *                              within MS milliseconds: {ms, n}
 *   ctl HOST PORT LINE         send LINE and a newline, print the one-line answer (lwIP's
 *                              control port: "SEND <bytes> <port>")
 */

async function drain(conn: Deno.Conn, buf: Uint8Array): Promise<number> {
  let n = 0;
  for (;;) {
    const r = await conn.read(buf);
    if (r === null) return n;
    n += r;
  }
}

async function main([mode, ...rest]: string[]): Promise<void> {
  const num = (i: number) => Number(rest[i]);
  switch (mode) {
    case "sink": {
      const l = Deno.listen({ hostname: rest[0], port: num(1) });
      console.log(l.addr.port);
      const conn = await l.accept();
      const buf = new Uint8Array(1 << 16);
      const first = await conn.read(buf);
      const t0 = performance.now();
      const bytes = (first ?? 0) + await drain(conn, buf);
      console.log(JSON.stringify({ bytes, ms: performance.now() - t0 }));
      conn.close();
      l.close();
      return;
    }
    case "source": {
      const conn = await Deno.connect({ hostname: rest[0], port: num(1) });
      const len = num(3);
      const buf = new Uint8Array(len).fill(0x5a);
      const t0 = performance.now();
      for (let left = num(2) * 1024 * 1024; left > 0; left -= len) {
        let chunk = left >= len ? buf : buf.subarray(0, left);
        while (chunk.length > 0) chunk = chunk.subarray(await conn.write(chunk));
      }
      await conn.closeWrite();
      await drain(conn, buf);
      conn.close();
      console.log(JSON.stringify({ ms: performance.now() - t0 }));
      return;
    }
    case "acceptor": {
      const l = Deno.listen({ hostname: rest[0], port: num(1) });
      console.log(l.addr.port);
      for (;;) (await l.accept()).close();
    }
    case "connector": {
      const n = num(2);
      const buf = new Uint8Array(16);
      const t0 = performance.now();
      let i = 0;
      for (; i < n && performance.now() - t0 < num(3); i++) {
        const conn = await Deno.connect({ hostname: rest[0], port: num(1) });
        await drain(conn, buf);
        conn.close();
      }
      console.log(JSON.stringify({ ms: performance.now() - t0, n: i }));
      return;
    }
    case "connshut":
    case "crr": {
      const n = num(2);
      const buf = new Uint8Array(64).fill(0x61);
      const back = new Uint8Array(64);
      const t0 = performance.now();
      let i = 0;
      for (; i < n && performance.now() - t0 < num(3); i++) {
        const conn = await Deno.connect({ hostname: rest[0], port: num(1) });
        if (mode === "connshut") {
          await conn.closeWrite();
          await drain(conn, back);
        } else {
          let left = buf;
          while (left.length > 0) left = left.subarray(await conn.write(left));
          for (let got = 0; got < 64;) {
            const r = await conn.read(back.subarray(got));
            if (r === null) throw new Error(`echo closed after ${got} bytes`);
            got += r;
          }
        }
        conn.close();
      }
      console.log(JSON.stringify({ ms: performance.now() - t0, n: i }));
      return;
    }
    case "ctl": {
      const conn = await Deno.connect({ hostname: rest[0], port: num(1) });
      await conn.write(new TextEncoder().encode(rest[2] + "\n"));
      const buf = new Uint8Array(4096);
      let text = "";
      while (!text.includes("\n")) {
        const r = await conn.read(buf);
        if (r === null) break;
        text += new TextDecoder().decode(buf.subarray(0, r));
      }
      conn.close();
      console.log(text.trim());
      return;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

if (import.meta.main) await main(Deno.args);
