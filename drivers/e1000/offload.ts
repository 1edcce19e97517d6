/**
 * The 8254x transmit offloads as pure functions (SDM §3.3.5–3.3.7): checksum insertion from a
 * context's TUCSS/TUCSO/TUCSE and IPCSS/IPCSO/IPCSE (or a legacy descriptor's CSS/CSO), and
 * TCP segmentation (TSE) with HDRLEN, MSS and PAYLEN. Every offset a hostile driver writes is
 * checked against the frame before it is used; a packet that does not add up is dropped with a
 * reason, never half-sent.
 */
import { checksum } from "../../netstack/wire/checksum.ts";
import { segmentTcp, tcpFrameLayout } from "../link/gso_segment.ts";
import { POPTS, TUCMD, type TxContext } from "./descriptors.ts";

/** Frames for the cable, or why the packet is dropped. */
export type E1000TxResult = { frames: Uint8Array[] } | { drop: string };

/**
 * Insert a checksum: sum `frame[start..end]` (end inclusive; 0 = to the end of the packet),
 * the field at `at` included as it stands (the driver leaves the pseudo-header sum there), and
 * store the complement at `at`. False when the offsets do not fit the frame.
 */
export function insertChecksum(frame: Uint8Array, start: number, at: number, end = 0): boolean {
  const stop = end === 0 ? frame.length : end + 1;
  if (start >= stop || stop > frame.length || at < start || at + 2 > stop) return false;
  const c = checksum(frame.subarray(start, stop));
  frame[at] = c >>> 8;
  frame[at + 1] = c & 0xff;
  return true;
}

/**
 * Carry out data-descriptor options `popts` (and TSE when `tse`) with context `ctx` on the
 * gathered packet `frame` (owned, changed in place).
 */
export function e1000Transmit(
  frame: Uint8Array,
  ctx: TxContext | undefined,
  popts: number,
  tse: boolean,
): E1000TxResult {
  if (!tse) {
    if (frame.length > 1518) return { drop: "tx-bad-length" };
    if (!(popts & (POPTS.IXSM | POPTS.TXSM))) return { frames: [frame] };
    if (!ctx) return { drop: "tx-no-context" };
    if (popts & POPTS.IXSM && !insertChecksum(frame, ctx.ipcss, ctx.ipcso, ctx.ipcse)) {
      return { drop: "tx-bad-checksum-context" };
    }
    if (popts & POPTS.TXSM && !insertChecksum(frame, ctx.tucss, ctx.tucso, ctx.tucse)) {
      return { drop: "tx-bad-checksum-context" };
    }
    return { frames: [frame] };
  }
  if (!ctx || !(ctx.tucmd & TUCMD.TSE)) return { drop: "tx-no-tso-context" };
  if (ctx.mss === 0) return { drop: "tx-tso-mss-zero" };
  if (ctx.hdrLen === 0 || ctx.hdrLen >= frame.length) return { drop: "tx-tso-bad-hdrlen" };
  if (ctx.hdrLen + ctx.paylen !== frame.length) return { drop: "tx-tso-bad-paylen" };
  // This model segments TCP only (UDP fragmentation offload of the 82544+ is not modelled).
  if (!(ctx.tucmd & TUCMD.TCP)) return { drop: "tx-tso-not-tcp" };
  const l = tcpFrameLayout(frame);
  if (
    !l || l.hdrLen !== ctx.hdrLen || l.tcp !== ctx.tucss || ctx.tucso !== l.tcp + 16 ||
    (l.ipVersion === 4) !== ((ctx.tucmd & TUCMD.IP) !== 0) || ctx.ipcss !== 14
  ) return { drop: "tx-tso-bad-headers" };
  if (ctx.hdrLen - 14 + ctx.mss > 9216) return { drop: "tx-tso-mss-too-big" };
  return { frames: segmentTcp(frame, l, ctx.mss) };
}
