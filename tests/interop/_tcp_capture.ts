/**
 * Checks on a capture of a TCP conversation between Linux and Serin, through tshark: the SYN and
 * SYN-ACK options, and no malformed packets or bad checksums.
 */
import { tsharkFields, tsharkProblems } from "../tshark.ts";
import type { TapLab } from "./_lab.ts";

/** tshark preferences: no TCP sequence analysis, whose warnings are about flows, not bytes. */
export const PREFS = ["tcp.analyze_sequence_numbers:FALSE"];

/**
 * Ports whose payload tshark must take as plain data. The interop tests echo random bytes over
 * UDP port 7007, which lies in AFS's range: the Rx dissector (and, on other ports, RTCP's
 * heuristic) reads them as a malformed header now and then, a problem of the bytes the test
 * chose, not of Serin's packets.
 */
export const DATA_PORTS = ["udp.port==7007"];

/** The options of one SYN or SYN-ACK as tshark dissected them. */
export interface SynOptions {
  from: string;
  mss?: number;
  wscale?: number;
  sackPermitted: boolean;
  timestamps: boolean;
}

/** The SYN and SYN-ACK of the first handshake in `pcap`. */
export async function handshake(pcap: string): Promise<{ syn?: SynOptions; synAck?: SynOptions }> {
  const frames = await tsharkFields(pcap, [
    "ip.src",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
  ], PREFS);
  const opts = (f: Record<string, string[]>): SynOptions => ({
    from: f["ip.src"]?.[0] ?? "?",
    mss: f["tcp.options.mss_val"] ? Number(f["tcp.options.mss_val"][0]) : undefined,
    wscale: f["tcp.options.wscale.shift"] ? Number(f["tcp.options.wscale.shift"][0]) : undefined,
    sackPermitted: f["tcp.options.sack_perm"] !== undefined,
    timestamps: f["tcp.options.timestamp.tsval"] !== undefined,
  });
  const isSet = (f: Record<string, string[]>, k: string) =>
    f[k]?.[0] === "1" || f[k]?.[0] === "True";
  const syn = frames.find((f) => isSet(f, "tcp.flags.syn") && !isSet(f, "tcp.flags.ack"));
  const synAck = frames.find((f) => isSet(f, "tcp.flags.syn") && isSet(f, "tcp.flags.ack"));
  return { syn: syn && opts(syn), synAck: synAck && opts(synAck) };
}

/**
 * Every problem tshark reports in `pcap` (checksums verified), as "frame N (src MAC):
 * severity/group: message". When offloads could not be turned off, frames Linux sent are left
 * out (their checksums may be partial in the capture).
 */
export async function captureProblems(pcap: string, lab: TapLab): Promise<string[]> {
  const problems = await tsharkProblems(pcap, PREFS, DATA_PORTS);
  if (problems.length === 0) return [];
  const frames = await tsharkFields(pcap, ["eth.src"], PREFS);
  const fromSerin = (p: { frame: number }) =>
    frames[p.frame - 1]?.["eth.src"]?.[0] === lab.serinMac;
  return problems
    .filter((p) => lab.offloadsOff || fromSerin(p))
    // Linux's software checksum (skb_checksum_help, used with tx offload off) writes a zero
    // checksum as 0xffff whatever the protocol (CSUM_MANGLED_0, a UDP rule): about one in 65,536
    // of its segments. Equivalent in one's complement and accepted by everyone, but Wireshark
    // warns. Serin's own segments must still never do it.
    .filter((p) => fromSerin(p) || !/Checksum 0xffff instead of 0x0000/.test(p.message))
    .map((p) =>
      `frame ${p.frame} (${
        frames[p.frame - 1]?.["eth.src"]?.[0]
      }): ${p.severity}/${p.group}: ${p.message}`
    );
}

/** Checksum status values tshark found on frames Serin sent, with their counts ("1" = good). */
export async function serinChecksums(pcap: string, lab: TapLab): Promise<Record<string, number>> {
  const frames = await tsharkFields(pcap, [
    "eth.src",
    "ip.checksum.status",
    "tcp.checksum.status",
  ], PREFS);
  const counts: Record<string, number> = {};
  for (const f of frames) {
    if (f["eth.src"]?.[0] !== lab.serinMac) continue;
    for (const k of ["ip.checksum.status", "tcp.checksum.status"]) {
      for (const v of f[k] ?? []) counts[`${k}=${v}`] = (counts[`${k}=${v}`] ?? 0) + 1;
    }
  }
  return counts;
}
