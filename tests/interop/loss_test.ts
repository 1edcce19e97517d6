/**
 * TCP between Linux and Serin when frames get lost: Serin's fault injection drops 2% of the
 * frames on the TAP cable in both directions (seeded). 2 MB each way must still arrive
 * byte-identical, and the receivers must have used SACK (RFC 2018) to report the holes.
 */
import assert from "node:assert/strict";
import { tsharkFields } from "../tshark.ts";
import { Capture, interopTest, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { SHA_CLIENT_PY, SHA_SERVER_PY } from "./_python.ts";
import { bootOnTap } from "./_serin.ts";
import { PREFS } from "./_tcp_capture.ts";

const BYTES = 2_000_000;
const FAULTS = "loss=0.02,seed=7";
/** Port 7 (echo): tshark shows its payload as opaque data (see tcp_test.ts). */
const PORT = 7;

/** Frames carrying SACK blocks, by sender IP. */
async function sackSenders(pcap: string): Promise<Record<string, number>> {
  const frames = await tsharkFields(pcap, ["ip.src", "tcp.options.sack_le"], PREFS);
  const count: Record<string, number> = {};
  for (const f of frames) {
    if (f["tcp.options.sack_le"] === undefined) continue;
    const src = f["ip.src"]?.[0] ?? "?";
    count[src] = (count[src] ?? 0) + 1;
  }
  return count;
}

interopTest("interop: Linux sends to Serin over TCP through 2% loss", [
  "python3",
  "tcpdump",
  "tshark",
], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab, { faults: FAULTS });
  const pcap = await Deno.makeTempFile({ prefix: "serin-interop-", suffix: ".pcap" });
  try {
    const pid = await serin.sys.start("tests/interop/programs/sha_server.ts", [String(PORT)], {
      host: SERIN_HOST,
      caps: ["net_bind_service"],
    });
    await serin.waitFor(pid, "listening");
    {
      await using _cap = await Capture.start(lab, pcap);
      const out = await lab.python(SHA_CLIENT_PY, [lab.serinAddr, String(PORT), String(BYTES)]);
      const { mine, peer } = JSON.parse(out);
      assert.equal(peer, mine);
      assert.equal(await serin.wait(pid), 0, serin.output(pid));
    }
    // Frames from Linux that Serin's cable dropped leave holes only Serin sees: it must SACK.
    const sacks = await sackSenders(pcap);
    assert.ok((sacks[lab.serinAddr] ?? 0) > 0, `no SACK from Serin: ${JSON.stringify(sacks)}`);
  } finally {
    await Deno.remove(pcap);
  }
});

interopTest("interop: Serin sends to Linux over TCP through 2% loss", [
  "python3",
  "tcpdump",
  "tshark",
], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab, { faults: FAULTS });
  const pcap = await Deno.makeTempFile({ prefix: "serin-interop-", suffix: ".pcap" });
  const server = new Watched(
    lab.spawn(["python3", "-u", "-c", SHA_SERVER_PY, lab.linuxAddr, String(PORT)]),
  );
  try {
    await server.waitFor("listening");
    {
      await using _cap = await Capture.start(lab, pcap);
      const r = await serin.run("tests/interop/programs/sha_client.ts", [
        lab.linuxAddr,
        String(PORT),
        String(BYTES),
      ], { host: SERIN_HOST });
      assert.equal(r.status, 0, `sha_client: ${r.stdout}${r.stderr}`);
      assert.equal(await server.finished(), 0, server.stderr);
      const got = JSON.parse(server.text.split("\n")[1]);
      assert.equal(`sent: ${got.got}`, r.stdout.split("\n")[0]);
    }
    const sacks = await sackSenders(pcap);
    assert.ok((sacks[lab.linuxAddr] ?? 0) > 0, `no SACK from Linux: ${JSON.stringify(sacks)}`);
  } finally {
    await server.kill();
    await Deno.remove(pcap);
  }
});
