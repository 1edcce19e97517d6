/**
 * IPv6 reassembly (RFC 8200 §4.5) keyed by source, destination and identification. Any overlap
 * between fragments drops the whole datagram and the rest of its fragments (RFC 5722). Bounded
 * in bytes and datagrams; a datagram not complete after 60 s is dropped, and the caller may send
 * Time Exceeded (reassembly) when the first fragment had arrived.
 */
import { key6 } from "./addr6.ts";

/** Reassembly timeout (RFC 8200 §4.5), ms. */
export const REASSEMBLY6_TIMEOUT = 60_000;
/** Most bytes held in partial datagrams. */
export const REASSEMBLY6_MAX_BYTES = 4 << 20;
/** Most partial datagrams at once. */
export const REASSEMBLY6_MAX_DATAGRAMS = 256;

/** One received fragment. */
export interface Fragment6 {
  src: Uint8Array;
  dst: Uint8Array;
  identification: number;
  /** Byte offset of `data` in the original fragmentable part. */
  offset: number;
  more: boolean;
  /** Next Header of the fragment header (meaningful in the first fragment). */
  nextHeader: number;
  data: Uint8Array;
  /** The whole received packet (kept from the first fragment for ICMPv6 errors). */
  packet: Uint8Array;
}

/** What adding a fragment led to. */
export type Reassembly6Result =
  | { kind: "done"; nextHeader: number; payload: Uint8Array }
  | { kind: "pending" }
  | { kind: "dropped"; reason: string };

interface Partial6 {
  parts: Array<{ offset: number; data: Uint8Array }>;
  total?: number;
  nextHeader?: number;
  first?: Uint8Array;
  bytes: number;
  expires: number;
  /** An overlap was seen: drop every fragment until the timeout (RFC 5722 §4). */
  poisoned: boolean;
}

/** The IPv6 reassembly buffers of one host. */
export class Reassembler6 {
  #partial = new Map<string, Partial6>();
  #bytes = 0;

  /** Bytes held in partial datagrams. */
  get bytesHeld(): number {
    return this.#bytes;
  }

  /** Add a fragment at time `now`. */
  add(now: number, f: Fragment6): Reassembly6Result {
    if (f.offset === 0 && !f.more) {
      return { kind: "done", nextHeader: f.nextHeader, payload: f.data }; // atomic (RFC 6946)
    }
    if (f.more && f.data.length % 8 !== 0) {
      return { kind: "dropped", reason: "frag-not-multiple-of-8" };
    }
    if (f.offset + f.data.length > 65535) return { kind: "dropped", reason: "frag-too-long" };
    const k = `${key6(f.src)}|${key6(f.dst)}|${f.identification}`;
    let p = this.#partial.get(k);
    if (!p) {
      if (this.#partial.size >= REASSEMBLY6_MAX_DATAGRAMS) {
        return { kind: "dropped", reason: "reassembly-full" };
      }
      p = { parts: [], bytes: 0, expires: now + REASSEMBLY6_TIMEOUT, poisoned: false };
      this.#partial.set(k, p);
    }
    if (p.poisoned) return { kind: "dropped", reason: "frag-overlap" };
    const end = f.offset + f.data.length;
    for (const q of p.parts) {
      if (f.offset < q.offset + q.data.length && q.offset < end) return this.#poison(p);
    }
    if (!f.more) {
      if (p.total !== undefined && p.total !== end) return this.#poison(p);
      if (p.parts.some((q) => q.offset + q.data.length > end)) return this.#poison(p);
      p.total = end;
    } else if (p.total !== undefined && end > p.total) return this.#poison(p);
    if (this.#bytes + f.data.length > REASSEMBLY6_MAX_BYTES) {
      return { kind: "dropped", reason: "reassembly-full" };
    }
    p.parts.push({ offset: f.offset, data: f.data.slice() });
    p.bytes += f.data.length;
    this.#bytes += f.data.length;
    if (f.offset === 0) {
      p.nextHeader = f.nextHeader;
      p.first = f.packet.slice();
    }
    if (p.total === undefined || p.nextHeader === undefined || p.bytes !== p.total) {
      return { kind: "pending" };
    }
    const out = new Uint8Array(p.total);
    for (const q of p.parts) out.set(q.data, q.offset);
    this.#release(k, p);
    return { kind: "done", nextHeader: p.nextHeader, payload: out };
  }

  #poison(p: Partial6): Reassembly6Result {
    this.#bytes -= p.bytes;
    p.parts = [];
    p.bytes = 0;
    p.first = undefined;
    p.poisoned = true;
    return { kind: "dropped", reason: "frag-overlap" };
  }

  #release(k: string, p: Partial6) {
    this.#bytes -= p.bytes;
    this.#partial.delete(k);
  }

  /** Drop timed-out datagrams; returns the first fragments of those that had one. */
  poll(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [k, p] of this.#partial) {
      if (p.expires > now) continue;
      if (p.first && !p.poisoned) out.push(p.first);
      this.#release(k, p);
    }
    return out;
  }

  /** Earliest timeout. */
  nextDeadline(): number | undefined {
    let best = Infinity;
    for (const p of this.#partial.values()) if (p.expires < best) best = p.expires;
    return best === Infinity ? undefined : best;
  }
}
