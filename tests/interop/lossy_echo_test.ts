/**
 * A bidirectional TCP echo between Linux and Serin through an unkind cable (issue #15, "Lossy
 * echo"): Serin's fault injector on the TAP link loses 5%, duplicates 1%, reorders 5% and corrupts
 * 0.1% of the frames, with 5 ms of delay, in both directions. Linux's python3 client
 * (lossy_echo_client.py) streams random bytes into Serin's `echo -p 7` while it reads the echo
 * back at the same time; what comes back must be byte-identical (SHA-256 and length), over IPv4
 * and IPv6. Both sides then hold holes in their receive queues while sending full-sized segments,
 * the case where Serin's SACK blocks once pushed segments past the MTU and the echo stalled at
 * ~13 MB. Linux's own TCP counters show that both directions were impaired: it retransmitted
 * (frames to Serin were lost) and queued segments out of order (frames from Serin were lost or
 * reordered).
 *
 * `deno task test` runs one seed per family with 2 MB (about 10 s each). With SERIN_INTEROP_BIG=1 it runs what the
 * issue asks for: 20 MB, 10 seeds per family (about ten minutes or more). SERIN_LOSSY_PCAP=DIR
 * writes Serin's capture of each run (`--pcap`: frames as Serin sends them, before the faults,
 * and as it receives them, after) to DIR/lossy-echo-v{4,6}-seed{N}.pcap, for a stall's post-mortem
 * without tcpdump. Each run prints its time and goodput.
 */
import assert from "node:assert/strict";
import { delay, interopTest, SERIN_HOST, TapLab } from "./_lab.ts";
import { bootOnTap, type SerinOnTap } from "./_serin.ts";

const BIG = Deno.env.get("SERIN_INTEROP_BIG") === "1";
const BYTES = BIG ? 20_000_000 : 2_000_000;
const SEEDS = BIG ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [1];
const PCAP_DIR = Deno.env.get("SERIN_LOSSY_PCAP");
const IMPAIRMENT = "loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=5ms";
const PORT = 7;
/** Seconds without progress in either direction after which the client calls it a stall. */
const STALL_S = 30;
const CLIENT = new URL("./lossy_echo_client.py", import.meta.url).pathname;

/** What lossy_echo_client.py prints. */
interface EchoResult {
  sent: number;
  got: number;
  sentSha: string;
  gotSha: string;
  seconds: number;
  stalled: boolean;
  error: string | null;
  /** Deltas of Linux's TCP counters in the namespace over the run. */
  linux: Record<string, number>;
}

/**
 * Boot Serin on the lab's TAP with the faults (and fd00:77::2/64 next to its IPv4 address: the lab
 * gives Linux's side fd00:77::1/64), start `echo -p 7` (dual-stack) and wait until it listens.
 */
async function bootEcho(lab: TapLab, faults: string, pcap?: string): Promise<SerinOnTap> {
  const base = lab.serinNet.bind(lab);
  lab.serinNet = (driver, extra) => {
    const net = base(driver, { ...extra, ...(pcap ? { pcap } : {}) });
    const iface = net.hosts[0].ifaces?.[0];
    if (iface) iface.addrs = [...(iface.addrs ?? []), `${lab.serinAddr6}/64`];
    return net;
  };
  const serin = await bootOnTap(lab, { faults });
  try {
    const pid = await serin.sys.start("echo", ["-p", String(PORT)], {
      host: SERIN_HOST,
      caps: ["net_bind_service"],
    });
    await serin.waitFor(pid, "listening");
    return serin;
  } catch (err) {
    await serin[Symbol.asyncDispose]();
    throw err;
  }
}

/** Poll Serin's ifconfig until `addr` is configured and past DAD. */
async function waitReady6(serin: SerinOnTap, addr: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let out = "";
  while (Date.now() < deadline) {
    out = (await serin.run("ifconfig", [], { host: SERIN_HOST })).stdout;
    const line = out.split("\n").find((l) => l.trim().startsWith(`inet6 ${addr} `));
    if (line && !/tentative|duplicated/.test(line)) return;
    await delay(100);
  }
  throw new Error(`Serin never had ${addr} ready: ${out}`);
}

/** Serin's `netstat -s`: its counters and per-interface drop reasons. */
async function serinCounters(serin: SerinOnTap): Promise<string> {
  const r = await serin.run("netstat", ["-s"], { host: SERIN_HOST });
  return r.stdout;
}

/** The value of counter `key` in a `netstat -s` text (0 when absent). */
function counter(stats: string, key: string): number {
  const m = new RegExp(`^\\s*${key}: (\\d+)$`, "m").exec(stats);
  return m ? Number(m[1]) : 0;
}

for (const v6 of [false, true]) {
  for (const seed of SEEDS) {
    const mb = BYTES / 1e6;
    const name = `interop lossy echo: Linux streams ${mb} MB through Serin's echo over IPv${
      v6 ? 6 : 4
    } and reads it back at once, ${IMPAIRMENT} both ways (seed ${seed})`;
    interopTest(name, ["python3"], async () => {
      await using lab = await TapLab.create();
      const pcap = PCAP_DIR ? `${PCAP_DIR}/lossy-echo-v${v6 ? 6 : 4}-seed${seed}.pcap` : undefined;
      await using serin = await bootEcho(lab, `${IMPAIRMENT},seed=${seed}`, pcap);
      const target = v6 ? lab.serinAddr6 : lab.serinAddr;
      if (v6) await waitReady6(serin, target);
      // The client gives up after STALL_S without progress; this bounds a run that never stalls
      // for that long but crawls (a few KB/s would take hours).
      const timeoutMs = 60_000 + BYTES / 20;
      const r = await lab.exec(
        ["python3", CLIENT, target, String(PORT), String(BYTES), String(STALL_S)],
        { timeoutMs },
      );
      const line = r.stdout.trim().split("\n").pop() ?? "";
      let res: EchoResult;
      try {
        res = JSON.parse(line);
      } catch {
        throw new Error(
          `client exited ${r.code} without a result (killed after ${timeoutMs} ms?): ` +
            `${r.stdout}${r.stderr}\nSerin: ${await serinCounters(serin)}`,
        );
      }
      const stats = await serinCounters(serin);
      const gp = res.got / 1e6 / res.seconds;
      console.log(
        `  IPv${v6 ? 6 : 4} seed ${seed}: ${(res.got / 1e6).toFixed(1)} MB echoed in ` +
          `${res.seconds.toFixed(1)} s, goodput ${gp.toFixed(2)} MB/s each way ` +
          `(${(gp * 8).toFixed(1)} Mbit/s); Linux ${JSON.stringify(res.linux)}; Serin ` +
          `tcp: bad-checksum ${counter(stats, "tcp: bad-checksum")}`,
      );
      if (res.stalled || res.error || r.code !== 0) {
        throw new Error(
          `echo ${res.stalled ? "stalled" : "failed"} (exit ${r.code}): ${line}\n` +
            `Serin's counters:\n${stats}`,
        );
      }
      // No segment over the MTU: over IPv4 it fails under DF, over IPv6 it would be fragmented.
      assert.deepEqual(stats.match(/tcp: output \w+: \d+/g) ?? [], [], stats);
      assert.equal(counter(stats, "ipv6: fragmented"), 0, stats);
      assert.equal(res.sent, BYTES, line);
      assert.equal(res.got, BYTES, line);
      assert.equal(res.gotSha, res.sentSha, "the echo is not byte-identical");
      // Both directions impaired: Linux resent what was lost on its way to Serin, and segments
      // from Serin reached it with holes before them (lost or reordered on the way).
      assert.ok(res.linux["Tcp.RetransSegs"] > 0, `Linux never retransmitted: ${line}`);
      assert.ok(res.linux["TcpExt.TCPOFOQueue"] > 0, `nothing from Serin out of order: ${line}`);
    });
  }
}
