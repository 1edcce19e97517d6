/**
 * SYN cookies (RFC 4987 §3.6), as Linux's net/ipv4/syncookies.c: once a listener's half-open
 * queue is full, the ISN of its SYN-ACK is a cookie from which the final ACK rebuilds the
 * connection, so no state is kept for a SYN that may be spoofed.
 *
 *     cookie = H1(tuple) + peerIsn + (count << 24) + ((H2(tuple, count) + mssIndex) mod 2^24)
 *
 * `count` advances every {@link COOKIE_PERIOD_MS} (Linux's tcp_cookie_time, one minute) and a
 * cookie is good for {@link MAX_COOKIE_AGE} periods; `mssIndex` picks one of the four values of
 * {@link COOKIE_MSS_TABLE}. When the SYN carried timestamps, the low 6 bits of the SYN-ACK's
 * TSval carry the peer's window scale and SACK-permitted (cookie_init_timestamp), read back from
 * the final ACK's TSecr; without timestamps the connection has neither, as on Linux.
 *
 * The same secret also gives each connection of a listener its timestamp offset (RFC 7323
 * §5.4, Linux's secure_tcp_ts_off): a keyed hash of the 4-tuple, so TSval does not reveal
 * uptime and a cookie's connection continues the clock its SYN-ACK's TSval started.
 */

import { halfSipHash } from "./isn.ts";
import { seqGt } from "./seqnum.ts";

/** The MSS values a cookie can encode (Linux's msstab for IPv4). */
export const COOKIE_MSS_TABLE: readonly number[] = Object.freeze([536, 1300, 1440, 1460]);
/** The MSS values a cookie can encode for an IPv6 peer (Linux's msstab in syncookies.c of ipv6). */
export const COOKIE_MSS_TABLE6: readonly number[] = Object.freeze([1220, 1420, 1440, 8940]);
/** Length of one cookie time period, ms (Linux: 60 s). */
export const COOKIE_PERIOD_MS = 60_000;
/** A cookie is accepted during this many periods (Linux's MAX_SYNCOOKIE_AGE). */
export const MAX_COOKIE_AGE = 2;

const COOKIE_BITS = 24;
const COOKIE_MASK = (1 << COOKIE_BITS) - 1;
/** TSval bits carrying the options (Linux's TSBITS / TSMASK). */
const TS_BITS = 6;
const TS_MASK = (1 << TS_BITS) - 1;
/** Window-scale field of the TSval bits; all ones means "no window scaling". */
const TS_WSCALE_MASK = 0x0f;
const TS_SACK = 1 << 4;
const TS_ECN = 1 << 5;
/** Largest window scale shift (RFC 7323 §2.3). */
const MAX_WSCALE = 14;

/** Options a cookie's TSval echo gives back. */
export interface CookieTimestampOptions {
  /** The peer's window scale shift, or undefined if it offered none. */
  windowScale: number | undefined;
  /** The peer sent SACK-permitted. */
  sack: boolean;
}

/** Stateless SYN-ACK ISNs for a flooded listener, and the per-connection timestamp offsets. */
export class SynCookies {
  readonly #k0: number;
  readonly #k1: number;
  readonly #enc = new TextEncoder();

  /**
   * `secret`: at least 8 random bytes (`crypto.getRandomValues`; a fixed seed only under the
   * simulator). Defaults to fresh random bytes.
   */
  constructor(secret: Uint8Array = crypto.getRandomValues(new Uint8Array(8))) {
    if (secret.length < 8) throw new RangeError("SYN cookie secret must be at least 8 bytes");
    const dv = new DataView(secret.buffer, secret.byteOffset, secret.byteLength);
    this.#k0 = dv.getUint32(0, true);
    this.#k1 = dv.getUint32(4, true);
  }

  /**
   * The cookie ISN for a SYN from `tuple` (a stable encoding of both addresses and ports) with
   * sequence number `peerIsn` and MSS option `peerMss` (536 when absent), at `now` (ms); `mss`
   * is the value the cookie encodes, the largest `table` entry not above `peerMss` (else the
   * smallest, as Linux).
   */
  make(
    now: number,
    tuple: string,
    peerIsn: number,
    peerMss: number,
    table: readonly number[] = COOKIE_MSS_TABLE,
  ): { isn: number; mss: number } {
    let index = table.length - 1;
    while (index > 0 && peerMss < table[index]) index--;
    const count = this.#count(now);
    const isn = (this.#hash(0, 0, tuple) + peerIsn + ((count << COOKIE_BITS) >>> 0) +
      ((this.#hash(1, count, tuple) + index) & COOKIE_MASK)) >>> 0;
    return { isn, mss: table[index] };
  }

  /**
   * The MSS a returning cookie encodes (the final ACK's ack - 1, its seq - 1 being `peerIsn`),
   * or undefined when it is not a cookie of ours from the last {@link MAX_COOKIE_AGE} periods.
   */
  check(
    now: number,
    tuple: string,
    peerIsn: number,
    cookie: number,
    table: readonly number[] = COOKIE_MSS_TABLE,
  ): number | undefined {
    const count = this.#count(now);
    const rest = (cookie - this.#hash(0, 0, tuple) - peerIsn) >>> 0;
    const age = (count - (rest >>> COOKIE_BITS)) & 0xff;
    if (age >= MAX_COOKIE_AGE) return undefined;
    const index = (rest - this.#hash(1, (count - age) & 0xff, tuple)) & COOKIE_MASK;
    return index < table.length ? table[index] : undefined;
  }

  /**
   * Timestamp offset of the connection `tuple` (RFC 7323 §5.4): TSval = now + offset. Fixed for
   * a tuple, so a cookie's connection goes on from its SYN-ACK's TSval.
   */
  tsOffset(tuple: string): number {
    return this.#hash(2, 0, tuple);
  }

  /** Domain-separated keyed hash: `kind` 0 and 1 are Linux's two cookie hashes, 2 the offset. */
  #hash(kind: number, count: number, tuple: string): number {
    const t = this.#enc.encode(tuple);
    const data = new Uint8Array(2 + t.length);
    data[0] = kind;
    data[1] = count;
    data.set(t, 2);
    return halfSipHash(this.#k0, this.#k1, data);
  }

  #count(now: number): number {
    return Math.floor(now / COOKIE_PERIOD_MS) & 0xff;
  }
}

/**
 * The TSval of a cookie SYN-ACK (Linux's cookie_init_timestamp): `tsNow` with its low 6 bits
 * replaced by the peer's window scale (all ones: none) and SACK-permitted, moved back 64 ticks
 * if that put it in the future, so TSval never runs ahead of the connection's clock.
 */
export function cookieTimestamp(
  tsNow: number,
  windowScale: number | undefined,
  sack: boolean,
): number {
  const bits = (windowScale === undefined ? TS_WSCALE_MASK : Math.min(windowScale, MAX_WSCALE)) |
    (sack ? TS_SACK : 0);
  let ts = ((tsNow & ~TS_MASK) | bits) >>> 0;
  if (seqGt(ts, tsNow)) ts = (ts - (1 << TS_BITS)) >>> 0;
  return ts;
}

/**
 * The options a final ACK's TSecr carries back (Linux's cookie_timestamp_decode), or undefined
 * when they cannot be ours: a shift above 14, or the ECN bit (Serin never sets it).
 */
export function decodeCookieTimestamp(echo: number): CookieTimestampOptions | undefined {
  const bits = echo & TS_MASK;
  if (bits & TS_ECN) return undefined;
  const ws = bits & TS_WSCALE_MASK;
  if (ws !== TS_WSCALE_MASK && ws > MAX_WSCALE) return undefined;
  return { windowScale: ws === TS_WSCALE_MASK ? undefined : ws, sack: (bits & TS_SACK) !== 0 };
}
