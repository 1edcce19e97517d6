/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815): fragments are kept per (src, dst, protocol, id) as a
 * sorted list of byte ranges; data already held is never overwritten by a later overlapping
 * fragment (the overlap is trimmed), which defeats overlap attacks. Datagrams time out after
 * 30 s; memory is bounded per datagram (65535 bytes) and in total (oldest evicted).
 */
import { encodeIpv4, IPV4_HEADER_LEN, type Ipv4Repr } from "../wire/ipv4.ts";

/** Tunables. */
export interface ReassemblyOptions {
  timeoutMs: number;
  /** Bytes held across all datagrams. */
  maxBytes: number;
  /** Datagrams in progress. */
  maxDatagrams: number;
}

/** Defaults: Linux's ipfrag_time (30 s) and about its high threshold (4 MiB). */
export const DEFAULT_REASSEMBLY_OPTIONS: ReassemblyOptions = {
  timeoutMs: 30_000,
  maxBytes: 4 << 20,
  maxDatagrams: 256,
};

interface Pending {
  key: string;
  ranges: Array<{ off: number; data: Uint8Array }>;
  /** Payload length, known once the last fragment arrived. */
  total?: number;
  first?: Uint8Array;
  firstIp?: Ipv4Repr;
  bytes: number;
  expires: number;
}

/** What {@link Reassembler4.poll} reports for a datagram that timed out. */
export interface Expired {
  /** The first fragment as received, when it arrived (so ICMP time exceeded can quote it). */
  first?: Uint8Array;
}

/** Reassembly state for one host. */
export class Reassembler4 {
  readonly opts: ReassemblyOptions;
  #pending = new Map<string, Pending>();
  #bytes = 0;
  /** Outcomes by reason. */
  readonly stats = { ok: 0, timeout: 0, overlap: 0, tooBig: 0, evicted: 0, duplicate: 0 };

  constructor(opts: Partial<ReassemblyOptions> = {}) {
    this.opts = { ...DEFAULT_REASSEMBLY_OPTIONS, ...opts };
  }

  /** Bytes held now. */
  get bytesHeld(): number {
    return this.#bytes;
  }

  /** Datagrams in progress. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Add one fragment (`datagram` is the fragment as received). Returns the reassembled datagram
   * (a fresh header + payload) once complete.
   */
  add(
    now: number,
    ip: Ipv4Repr,
    datagram: Uint8Array,
  ): { ip: Ipv4Repr; datagram: Uint8Array } | undefined {
    const key = `${ip.src}/${ip.dst}/${ip.protocol}/${ip.ident}`;
    let p = this.#pending.get(key);
    const off = ip.fragmentOffset;
    const end = off + ip.payload.length;
    if (end > 65535 - IPV4_HEADER_LEN) {
      this.stats.tooBig++;
      if (p) this.#drop(p);
      return undefined;
    }
    if (!p) {
      while (this.#pending.size >= this.opts.maxDatagrams) this.#evictOldest();
      p = { key, ranges: [], bytes: 0, expires: now + this.opts.timeoutMs };
      this.#pending.set(key, p);
    }
    if (!ip.moreFragments) {
      if (
        (p.total !== undefined && p.total !== end) ||
        p.ranges.some((r) => r.off + r.data.length > end)
      ) {
        this.stats.overlap++;
        this.#drop(p);
        return undefined;
      }
      p.total = end;
    } else if (p.total !== undefined && end > p.total) {
      this.stats.overlap++;
      this.#drop(p);
      return undefined;
    }
    if (off === 0 && !p.first) {
      p.first = datagram.slice();
      p.firstIp = ip;
    }
    this.#insert(p, off, ip.payload);
    while (this.#bytes > this.opts.maxBytes && this.#pending.size > 0) this.#evictOldest();
    if (!this.#pending.has(key)) return undefined;
    return this.#complete(p);
  }

  /** Insert [off, off+data) keeping bytes already held (trim overlaps of the new fragment). */
  #insert(p: Pending, off: number, data: Uint8Array) {
    let pieces: Array<{ off: number; data: Uint8Array }> = [{ off, data }];
    for (const r of p.ranges) {
      const rEnd = r.off + r.data.length;
      const next: typeof pieces = [];
      for (const piece of pieces) {
        const pEnd = piece.off + piece.data.length;
        if (pEnd <= r.off || piece.off >= rEnd) {
          next.push(piece);
          continue;
        }
        this.stats.overlap++;
        if (piece.off < r.off) {
          next.push({ off: piece.off, data: piece.data.subarray(0, r.off - piece.off) });
        }
        if (pEnd > rEnd) next.push({ off: rEnd, data: piece.data.subarray(rEnd - piece.off) });
      }
      pieces = next;
      if (pieces.length === 0) break;
    }
    if (pieces.length === 0) this.stats.duplicate++;
    for (const piece of pieces) {
      if (piece.data.length === 0) continue;
      const copy = piece.data.slice();
      p.ranges.push({ off: piece.off, data: copy });
      p.bytes += copy.length;
      this.#bytes += copy.length;
    }
    p.ranges.sort((a, b) => a.off - b.off);
  }

  #complete(p: Pending): { ip: Ipv4Repr; datagram: Uint8Array } | undefined {
    if (p.total === undefined || !p.firstIp) return undefined;
    let covered = 0;
    for (const r of p.ranges) {
      if (r.off > covered) return undefined;
      covered = Math.max(covered, r.off + r.data.length);
    }
    if (covered < p.total) return undefined;
    const payload = new Uint8Array(p.total);
    for (const r of p.ranges) payload.set(r.data, r.off);
    this.#drop(p);
    this.stats.ok++;
    const ip: Ipv4Repr = {
      ...p.firstIp,
      moreFragments: false,
      fragmentOffset: 0,
      payload,
      options: p.firstIp.options,
    };
    return { ip, datagram: encodeIpv4(ip) };
  }

  #drop(p: Pending) {
    this.#pending.delete(p.key);
    this.#bytes -= p.bytes;
  }

  #evictOldest() {
    const oldest = this.#pending.values().next().value;
    if (!oldest) return;
    this.stats.evicted++;
    this.#drop(oldest);
  }

  /** Expire datagrams whose 30 s are up. */
  poll(now: number): Expired[] {
    const out: Expired[] = [];
    for (const p of [...this.#pending.values()]) {
      if (now < p.expires) continue;
      this.stats.timeout++;
      this.#drop(p);
      out.push({ first: p.first });
    }
    return out;
  }

  /** When {@link poll} next has work. */
  nextDeadline(): number | undefined {
    let d = Infinity;
    for (const p of this.#pending.values()) if (p.expires < d) d = p.expires;
    return d === Infinity ? undefined : d;
  }
}
