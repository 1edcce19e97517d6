/**
 * Lowering a live TCP connection's send MSS after a path MTU drop (RFC 8201 §5.4 / RFC 1191).
 * The state machine in `tcp/` fixes its options at construction and has no public setter, so
 * this reaches its protected send-MSS and congestion-control fields through a narrow structural
 * view. Later sends and retransmissions then use the smaller size. A public `setSendMss()` in
 * `tcp/` would replace this.
 */
import type { TcpConnection } from "../tcp/mod.ts";

interface MssInternals {
  _sndMss: number;
  _cc: { setMss(mss: number): void };
}

/** Smallest MSS we clamp to (IPv6 minimum MTU 1280 − 60 − 12). */
export const MIN_CLAMPED_MSS = 1208;

/** Lower `conn`'s send MSS to at most `mss`; true if it changed. */
export function clampMss(conn: TcpConnection, mss: number): boolean {
  const c = conn as unknown as MssInternals;
  const target = Math.max(MIN_CLAMPED_MSS, Math.floor(mss));
  if (typeof c._sndMss !== "number" || c._sndMss <= target) return false;
  c._sndMss = target;
  c._cc?.setMss(target);
  return true;
}
