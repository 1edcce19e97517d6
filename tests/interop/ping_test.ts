/** ICMP echo between Linux and Serin over a TAP, in both directions. */
import assert from "node:assert/strict";
import { interopTest, type NicModel, SERIN_HOST, TapLab } from "./_lab.ts";
import { bootOnTap } from "./_serin.ts";

interopTest("interop: Linux pings Serin over a TAP", ["ping"], async () => {
  await using lab = await TapLab.create();
  await using _serin = await bootOnTap(lab);
  const r = await lab.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", lab.serinAddr]);
  assert.equal(r.code, 0, `Linux ping failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
  assert.match(r.stdout, new RegExp(`64 bytes from ${lab.serinAddr}: icmp_seq=3 ttl=64 `));
  // 4000 bytes of payload: fragmented both ways, reassembled by Serin and by Linux.
  const big = await lab.exec([
    "ping",
    "-c",
    "2",
    "-i",
    "0.2",
    "-W",
    "2",
    "-s",
    "4000",
    lab.serinAddr,
  ]);
  assert.equal(big.code, 0, `Linux ping -s 4000 failed:\n${big.stdout}${big.stderr}`);
  assert.match(big.stdout, new RegExp(`4008 bytes from ${lab.serinAddr}: icmp_seq=2 ttl=64 `));
});

interopTest("interop: Serin pings Linux over a TAP", [], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab);
  const r = await serin.run("ping", ["-c", "3", "-i", "0.2", lab.linuxAddr], {
    host: SERIN_HOST,
    caps: ["net_raw"],
  });
  assert.equal(r.status, 0, `Serin ping failed:\n${r.stdout}${r.stderr}`);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], `PING ${lab.linuxAddr} (${lab.linuxAddr}) 56(84) bytes of data.`);
  const replies = lines.filter((l) => l.includes(`bytes from ${lab.linuxAddr}`));
  assert.deepEqual(
    replies.map((l) => l.replace(/time=[\d.]+ ms$/, "time=T ms")),
    [1, 2, 3].map((s) => `64 bytes from ${lab.linuxAddr}: icmp_seq=${s} ttl=64 time=T ms`),
  );
  assert.ok(lines.includes(`--- ${lab.linuxAddr} ping statistics ---`), r.stdout);
  assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
  assert.match(r.stdout, /rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/);
});

interopTest("interop: Linux pings Serin through every NIC model", ["ping"], async () => {
  const models: NicModel[] = ["wire", "e1000", "rtl8139", "virtio"];
  const failed: string[] = [];
  for (const model of models) {
    await using lab = await TapLab.create();
    await using _serin = await bootOnTap(lab, { driver: model });
    // Full-size frames too: 1472 bytes of ICMP payload make 1514-byte Ethernet frames.
    const r = await lab.exec([
      "ping",
      "-c",
      "2",
      "-i",
      "0.2",
      "-W",
      "2",
      "-s",
      "1472",
      lab.serinAddr,
    ]);
    if (!r.stdout.includes("2 packets transmitted, 2 received")) {
      failed.push(`${model}: ${r.stdout}${r.stderr}`);
    }
  }
  assert.deepEqual(failed, []);
});
