/**
 * virtio-net over a TAP with every offload on (TSO both ways, checksum offload, mergeable
 * receive buffers, EVENT_IDX): 8 MB each way between Linux and Serin, byte-identical by SHA-256.
 * Super-segments cross the driver, the device model and the TAP whole; a bug in GSO headers,
 * partial checksums or buffer merging shows as a hash mismatch or a stalled transfer.
 */
import assert from "node:assert/strict";
import { interopTest, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { SHA_CLIENT_PY, SHA_SERVER_PY } from "./_python.ts";
import { bootOnTap } from "./_serin.ts";

const BYTES = 8_000_000;
const PORT = 7;
const PROGRAMS = "tests/interop/programs";

interopTest("interop: virtio-net, Linux → Serin 8 MB byte-identical", ["python3"], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab, { driver: "virtio" });
  const pid = await serin.sys.start(`${PROGRAMS}/sha_server.ts`, [String(PORT)], {
    host: SERIN_HOST,
    caps: ["net_bind_service"],
  });
  await serin.waitFor(pid, "listening");
  const out = await lab.python(SHA_CLIENT_PY, [lab.serinAddr, String(PORT), String(BYTES)], 90_000);
  const { mine, peer } = JSON.parse(out);
  assert.equal(peer, mine);
  assert.equal(await serin.wait(pid), 0, serin.output(pid));
});

interopTest("interop: virtio-net, Serin → Linux 8 MB byte-identical", ["python3"], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab, { driver: "virtio" });
  const server = new Watched(
    lab.spawn(["python3", "-u", "-c", SHA_SERVER_PY, lab.linuxAddr, String(PORT)]),
  );
  try {
    await server.waitFor("listening");
    const r = await serin.run(`${PROGRAMS}/sha_client.ts`, [
      lab.linuxAddr,
      String(PORT),
      String(BYTES),
    ], { host: SERIN_HOST });
    assert.equal(r.status, 0, `sha_client: ${r.stdout}${r.stderr}`);
    assert.equal(await server.finished(), 0, server.stderr);
    const got = JSON.parse(server.text.split("\n")[1]);
    assert.equal(`sent: ${got.got}`, r.stdout.split("\n")[0]);
  } finally {
    await server.kill();
  }
});
