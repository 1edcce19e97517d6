/**
 * What Linux sees from Serin's closed ports: a TCP connect is refused (RST) and a connected UDP
 * socket gets ECONNREFUSED (ICMP port unreachable).
 */
import assert from "node:assert/strict";
import { interopTest, TapLab } from "./_lab.ts";
import { bootOnTap } from "./_serin.ts";

/** Print the outcome of a TCP connect and of a UDP exchange on closed ports as JSON. */
const PROBE = `
import json, socket, sys
host = sys.argv[1]
out = {}
try:
    socket.create_connection((host, 5999), timeout=5).close()
    out["tcp"] = "connected"
except ConnectionRefusedError:
    out["tcp"] = "refused"
except OSError as e:
    out["tcp"] = repr(e)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect((host, 5998))
u.settimeout(3)
out["udp"] = "timeout"
for _ in range(3):
    try:
        u.send(b"anyone?")
        u.recv(100)
        out["udp"] = "answered"
        break
    except ConnectionRefusedError:
        out["udp"] = "refused"
        break
    except socket.timeout:
        pass
print(json.dumps(out))
`;

interopTest("interop: Serin refuses Linux on closed TCP and UDP ports", ["python3"], async () => {
  await using lab = await TapLab.create();
  await using _serin = await bootOnTap(lab);
  const out = JSON.parse(await lab.python(PROBE, [lab.serinAddr]));
  assert.deepEqual(out, { tcp: "refused", udp: "refused" });
});
