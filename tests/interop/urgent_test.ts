/**
 * TCP urgent data between Linux and Serin over a TAP (RFC 9293 §3.8.5, RFC 6093): both use the
 * pointer to the byte after the urgent one, so "hello" + "!" (MSG_OOB) + "world" reads as
 * "hello", OOB "!", "world" on either side, and with SO_OOBINLINE on Linux as the whole text.
 */
import assert from "node:assert/strict";
import { interopTest, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { bootOnTap } from "./_serin.ts";

const PORT = 5007;
const PROGRAMS = "tests/interop/programs";

/** Linux's side sending: hello, "!" out of band, world. */
const OOB_CLIENT_PY = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"hello")
time.sleep(0.05)
s.send(b"!", socket.MSG_OOB)
time.sleep(0.05)
s.sendall(b"world")
s.close()
`;

/** Linux's side receiving: up to the mark (SIOCATMARK), the OOB byte, the rest. */
const OOB_SERVER_PY = `
import fcntl, json, select, socket, struct, sys
inline = sys.argv[3] == "inline"
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if inline:
    l.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
select.select([], [], [c], 10)
atmark = lambda: struct.unpack("i", fcntl.ioctl(c.fileno(), 0x8905, b"\\0" * 4))[0]
before = b""
while not atmark():
    before += c.recv(1000)
oob = b"" if inline else c.recv(1, socket.MSG_OOB)
after = b""
while True:
    d = c.recv(1000)
    if not d:
        break
    after += d
print(json.dumps({"before": before.decode(), "oob": oob.decode(), "after": after.decode()}))
`;

interopTest(
  "interop: Linux sends urgent data to Serin: recv(MSG_OOB) gets the byte, the stream the rest",
  [
    "python3",
  ],
  async () => {
    await using lab = await TapLab.create();
    await using serin = await bootOnTap(lab);
    const pid = await serin.sys.start(`${PROGRAMS}/oob_server.ts`, [String(PORT)], {
      host: SERIN_HOST,
    });
    await serin.waitFor(pid, "listening");
    await lab.python(OOB_CLIENT_PY, [lab.serinAddr, String(PORT)], 30_000);
    assert.equal(await serin.wait(pid), 0, serin.output(pid));
    const line = serin.output(pid).split("\n").find((l) => l.startsWith("{"));
    assert.deepEqual(JSON.parse(line!), { before: "hello", oob: "!", after: "world" });
  },
);

for (const mode of ["oob", "inline"] as const) {
  interopTest(
    `interop: Serin sends urgent data to Linux (${mode}): Linux finds the mark where Serin put it`,
    [
      "python3",
    ],
    async () => {
      await using lab = await TapLab.create();
      await using serin = await bootOnTap(lab);
      const server = new Watched(
        lab.spawn(["python3", "-u", "-c", OOB_SERVER_PY, lab.linuxAddr, String(PORT), mode]),
      );
      try {
        await server.waitFor("listening");
        const r = await serin.run(`${PROGRAMS}/oob_client.ts`, [lab.linuxAddr, String(PORT)], {
          host: SERIN_HOST,
        });
        assert.equal(r.status, 0, `oob_client: ${r.stdout}${r.stderr}`);
        assert.equal(await server.finished(), 0, server.stderr);
        const got = JSON.parse(server.text.split("\n").find((l) => l.startsWith("{"))!);
        if (mode === "oob") assert.deepEqual(got, { before: "hello", oob: "!", after: "world" });
        else assert.deepEqual(got, { before: "hello", oob: "", after: "!world" });
      } finally {
        await server.kill();
      }
    },
  );
}
