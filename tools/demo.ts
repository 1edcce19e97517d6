/**
 * The steps of the demonstration `deno task run` plays with no arguments:
 * `demo ifaces`, `demo tcp-sink PORT`, `demo tcp-send HOST PORT MB`, `demo local`,
 * `demo counters`. Each is an ordinary program against libc.
 */
import {
  accept,
  AF_INET,
  AF_LOCAL,
  bind,
  close,
  connect,
  getinfo,
  getpid,
  type IfaceInfo,
  inet,
  listen,
  local,
  netctl,
  print,
  recv,
  recvmsg,
  send,
  sendmsg,
  setsockopt,
  SHUT_WR,
  shutdown,
  SO_REUSEADDR,
  SOCK_STREAM,
  socket,
  socketpair,
  SOL_SOCKET,
  spawn,
  waitpid,
  write,
} from "../libc/mod.ts";

const td = new TextDecoder();

export default async function main(args: string[]): Promise<number> {
  switch (args[0]) {
    case "ifaces":
      return await ifaces();
    case "tcp-sink":
      return await tcpSink(Number(args[1] ?? 5001));
    case "tcp-send":
      return await tcpSend(args[1], Number(args[2] ?? 5001), Number(args[3] ?? 8));
    case "local":
      return await localPass();
    case "local-receiver":
      return await receiver(args[1]);
    case "counters":
      return await counters();
    default:
      print("usage: demo ifaces|tcp-sink PORT|tcp-send HOST PORT MB|local|counters");
      return 2;
  }
}

async function ifaces(): Promise<number> {
  const me = await getinfo();
  for (const i of await netctl({ op: "ifaces" }) as IfaceInfo[]) {
    if (i.driver === "loopback") continue;
    const addrs = i.addrs.map((a) => `${a.addr}/${a.prefixLen}`).join(" ");
    print(
      `  ${me.host.padEnd(6)} ${i.name} ${i.driver.padEnd(8)} ${i.mac} link ${
        i.linkUp ? "up" : "down"
      } mtu ${i.mtu} ${addrs}`,
    );
  }
  return 0;
}

async function tcpSink(port: number): Promise<number> {
  const l = await socket(AF_INET, SOCK_STREAM);
  await setsockopt(l, SOL_SOCKET, SO_REUSEADDR, 1);
  await bind(l, inet("0.0.0.0", port));
  await listen(l, 4);
  const c = await accept(l);
  let total = 0;
  for (;;) {
    const d = await recv(c.fd, 262144);
    if (d.length === 0) break;
    total += d.length;
  }
  await send(c.fd, `${total}`);
  await close(c.fd);
  await close(l);
  return 0;
}

async function tcpSend(host: string, port: number, mb: number): Promise<number> {
  const fd = await socket(AF_INET, SOCK_STREAM);
  for (let i = 0;; i++) {
    try {
      await connect(fd, inet(host, port));
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const total = mb << 20;
  const chunk = new Uint8Array(65536).map((_, i) => i & 255);
  const t0 = performance.now();
  let sent = 0;
  let shown = -1;
  while (sent < total) {
    sent += await send(fd, chunk.subarray(0, Math.min(chunk.length, total - sent)));
    const tenth = Math.floor((sent / total) * 20);
    if (tenth !== shown) {
      shown = tenth;
      await write(1, `\r  [${"#".repeat(tenth).padEnd(20)}] ${(sent / 1048576).toFixed(1)} MB`);
    }
  }
  await shutdown(fd, SHUT_WR);
  const ack = td.decode(await recv(fd, 100));
  const secs = (performance.now() - t0) / 1000;
  await close(fd);
  print(
    `\r  [${"#".repeat(20)}] ${mb} MB in ${secs.toFixed(2)} s: ${
      (total * 8 / secs / 1e6).toFixed(0)
    } Mbit/s, receiver counted ${ack} bytes`,
  );
  return Number(ack) === total ? 0 : 1;
}

async function localPass(): Promise<number> {
  const path = "/tmp/demo.sock";
  const child = await spawn("demo", ["local-receiver", path]);
  let c = -1;
  for (let i = 0; i < 100 && c < 0; i++) {
    const fd = await socket(AF_LOCAL, SOCK_STREAM);
    try {
      await connect(fd, local(path));
      c = fd;
    } catch {
      await close(fd);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const [mine, theirs] = await socketpair(AF_LOCAL, SOCK_STREAM);
  await sendmsg(c, new TextEncoder().encode("here is a socket"), { rights: [theirs] });
  await close(theirs);
  print(`  pid ${await getpid()}: passed fd ${theirs} to pid ${child} over ${path} and closed it`);
  print(`  pid ${await getpid()}: heard back "${td.decode(await recv(mine, 200))}"`);
  await close(mine);
  return await waitpid(child);
}

async function receiver(path: string): Promise<number> {
  const l = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(l, local(path));
  await listen(l, 1);
  const conn = await accept(l);
  const m = await recvmsg(conn.fd, 200);
  const fd = m.rights![0];
  print(`  pid ${await getpid()}: received "${td.decode(m.data)}" as my fd ${fd}`);
  await send(fd, `hello from pid ${await getpid()}, over the passed socket`);
  return 0;
}

async function counters(): Promise<number> {
  const me = await getinfo();
  for (const i of await netctl({ op: "ifaces" }) as IfaceInfo[]) {
    if (i.driver === "loopback") continue;
    const s = i.stats;
    print(
      `  ${
        me.host.padEnd(6)
      } ${i.name}: rx ${s.rxPackets} pkts ${s.rxBytes} B, tx ${s.txPackets} pkts ${s.txBytes} B, dropped ${
        s.rxDropped + s.txDropped
      }`,
    );
  }
  return 0;
}
