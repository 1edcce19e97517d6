/**
 * UDP between Linux and Serin over a TAP: Serin runs the echo tool, Linux sends datagrams with
 * python3, from 1 byte to 60,000 bytes (41 fragments on the 1500-byte link, both ways).
 */
import assert from "node:assert/strict";
import { interopTest, SERIN_HOST, TapLab } from "./_lab.ts";
import { bootOnTap } from "./_serin.ts";

const PORT = 7007;

/** Sends each size once (retrying up to 3 times on a 2 s timeout), checks the echo byte by byte. */
const CLIENT = `
import json, os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
results = []
for size in [int(x) for x in sys.argv[3].split(",")]:
    data = os.urandom(size)
    tries, ok = 0, False
    while tries < 3 and not ok:
        tries += 1
        s.sendto(data, (host, port))
        try:
            while True:
                got, frm = s.recvfrom(65535)
                if got == data and frm == (host, port):
                    ok = True
                    break
        except socket.timeout:
            pass
    results.append({"size": size, "ok": ok, "tries": tries})
print(json.dumps(results))
`;

interopTest("interop: Linux's UDP datagrams come back from Serin's echo intact", [
  "python3",
], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab);
  const pid = await serin.sys.start("echo", ["-u", "-p", String(PORT)], { host: SERIN_HOST });
  await serin.waitFor(pid, "listening");
  const sizes = [1, 100, 1472, 1473, 8000, 60_000];
  const out = await lab.python(CLIENT, [lab.serinAddr, String(PORT), sizes.join(",")]);
  const results: Array<{ size: number; ok: boolean; tries: number }> = JSON.parse(out);
  assert.deepEqual(results.map((r) => [r.size, r.ok]), sizes.map((s) => [s, true]));
  // Only the very first datagram may need a retry (ARP); the rest must not be lost.
  assert.deepEqual(results.slice(1).map((r) => r.tries), sizes.slice(1).map(() => 1));
});
