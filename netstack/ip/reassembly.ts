/**
 * IP datagram reassembly for IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5). Each
 * datagram in progress keeps a sorted list of the byte ranges it holds — the complement of
 * RFC 815's hole list — and completes when the last fragment fixed the length and no hole is
 * left.
 *
 * Overlaps (RFC 1858, RFC 3128, RFC 5722): with `overlap: "drop"` (IPv6, and the safe choice
 * for IPv4) any fragment overlapping held data discards the whole datagram, and later
 * fragments of it are discarded until its timeout. With `overlap: "keep-first"` (classic
 * IPv4) the new fragment is trimmed to the holes, so data that arrived first is never
 * rewritten, and a fragment wholly inside held data is dropped ("overlap"). Either way an exact
 * duplicate (same offset and length) is just dropped. RFC 1858's extra IPv4 rule (drop TCP
 * fragments at offset 8) needs the protocol header and is left to the caller.
 *
 * Bounds: `maxDatagramBytes` per datagram (offset + length beyond it drops the datagram),
 * `maxBytes` of memory in all, counting `fragmentOverhead` per fragment (oldest datagram
 * evicted first), `maxDatagrams` in progress, and
 * `timeoutMs` from the first fragment. Pure: time comes in as `now` (ms).
 *
 * @example
 * const r = new Reassembler({ overlap: "drop" });
 * const key = reassemblyKey4(ip.src, ip.dst, ip.protocol, ip.id);
 * const res = r.add({ key, offset: ip.fragOffset * 8, more: ip.mf, data: payload, header }, now);
 * if (res.status === "complete") deliver(res.header, res.payload);
 * for (const x of r.poll(now)) if (x.first) icmp.timeExceeded(1, x.first.header, x.first.data);
 */

/** One received fragment. */
export interface Fragment {
  /** Identifies the datagram: see {@link reassemblyKey4} and {@link reassemblyKey6}. */
  key: string;
  /** Byte offset of `data` in the datagram payload (a multiple of 8). */
  offset: number;
  /** More-fragments flag: false on the last fragment. */
  more: boolean;
  /** This fragment's payload bytes (copied; the caller may reuse its buffer). */
  data: Uint8Array;
  /** The fragment's IP header (with IPv6: the unfragmentable part), kept from offset 0 only. */
  header?: Uint8Array;
}

/** Why a fragment or a datagram was dropped. */
export type ReassemblyDropReason =
  | "invalid"
  | "too-big"
  | "overlap"
  | "inconsistent"
  | "duplicate"
  | "discarded"
  | "no-room";

/** What {@link Reassembler.add} did with a fragment. */
export type AddResult =
  | {
    status: "complete";
    /** The whole payload. */
    payload: Uint8Array;
    /** The first fragment's header, when it carried one. */
    header?: Uint8Array;
  }
  | { status: "pending" }
  | { status: "dropped"; reason: ReassemblyDropReason };

/** A datagram that timed out (reported by {@link Reassembler.poll}). */
export interface ExpiredDatagram {
  /** Its key. */
  key: string;
  /**
   * The first fragment (offset 0), when it arrived: send ICMP time exceeded, code 1
   * (RFC 792, RFC 4443 §3.3) quoting `header` and the start of `data` (`packet` is the two
   * joined: the fragment as received). Absent: send nothing.
   */
  first?: { header: Uint8Array; data: Uint8Array; packet: Uint8Array };
}

/** Tunables. */
export interface ReassemblyOptions {
  /** "drop" discards a datagram on any overlap (RFC 5722); "keep-first" trims. Default "drop". */
  overlap: "drop" | "keep-first";
  /** Lifetime of a datagram in progress, from its first fragment. Default 30000 ms (Linux). */
  timeoutMs: number;
  /** Largest payload: offset + length beyond this drops the datagram. Default 65535. */
  maxDatagramBytes: number;
  /** Memory charged across all datagrams; the oldest is evicted past it. Default 4 MiB. */
  maxBytes: number;
  /**
   * Bytes charged per stored fragment on top of its payload, so a flood of tiny fragments
   * cannot hold far more memory than `maxBytes` says. Default 64.
   */
  fragmentOverhead: number;
  /** Datagrams in progress (discarded ones included); the oldest is evicted. Default 1024. */
  maxDatagrams: number;
}

/** The default {@link ReassemblyOptions}. */
export const DEFAULT_REASSEMBLY_OPTIONS: ReassemblyOptions = {
  overlap: "drop",
  timeoutMs: 30_000,
  maxDatagramBytes: 65535,
  maxBytes: 4 << 20,
  fragmentOverhead: 64,
  maxDatagrams: 1024,
};

/** Outcome counts by reason. */
export interface ReassemblyStats {
  /** Datagrams completed. */
  ok: number;
  /** Datagrams that timed out. */
  timeout: number;
  /** Datagrams discarded for an overlap ("drop"), or fragments trimmed ("keep-first"). */
  overlap: number;
  /** Datagrams dropped for exceeding maxDatagramBytes. */
  tooBig: number;
  /** Datagrams evicted for memory or count. */
  evicted: number;
  /** Exact duplicate fragments dropped. */
  duplicate: number;
  /** Fragments with a bad offset/length, or contradicting the known end. */
  invalid: number;
  /** Fragments that arrived for an already discarded datagram. */
  discarded: number;
}

/** The key for an IPv4 fragment: (source, destination, protocol, identification). */
export function reassemblyKey4(src: number, dst: number, protocol: number, id: number): string {
  return `4:${src >>> 0}:${dst >>> 0}:${protocol & 0xff}:${id & 0xffff}`;
}

/** The key for an IPv6 fragment: (source, destination, identification) per RFC 8200 §4.5. */
export function reassemblyKey6(src: Uint8Array, dst: Uint8Array, id: number): string {
  return `6:${hex(src)}:${hex(dst)}:${id >>> 0}`;
}

interface Range {
  start: number;
  end: number;
  data: Uint8Array;
}

interface Datagram {
  ranges: Range[];
  /** Payload length, once the last fragment fixed it. */
  total?: number;
  /** Payload bytes held. */
  covered: number;
  /** Memory charged (payload plus per-fragment overhead). */
  held: number;
  expires: number;
  first?: { header: Uint8Array; data: Uint8Array };
  /** Discarded after an overlap: later fragments are dropped until `expires`. */
  discarded: boolean;
}

/** Reassembly state for one host (or one protocol of it). */
export class Reassembler {
  readonly opts: ReassemblyOptions;
  readonly stats: ReassemblyStats = {
    ok: 0,
    timeout: 0,
    overlap: 0,
    tooBig: 0,
    evicted: 0,
    duplicate: 0,
    invalid: 0,
    discarded: 0,
  };
  /** In insertion order, so the first entry is the oldest. */
  #datagrams = new Map<string, Datagram>();
  #held = 0;
  #expired: ExpiredDatagram[] = [];

  constructor(opts: Partial<ReassemblyOptions> = {}) {
    this.opts = { ...DEFAULT_REASSEMBLY_OPTIONS, ...opts };
  }

  /** Memory charged now: payload bytes plus `fragmentOverhead` per stored fragment. */
  get bytesHeld(): number {
    return this.#held;
  }

  /** Datagrams in progress (discarded ones waiting out their timeout included). */
  get size(): number {
    return this.#datagrams.size;
  }

  /** Take in one fragment; returns the whole payload once the datagram is complete. */
  add(frag: Fragment, now: number): AddResult {
    const { key, offset, more, data } = frag;
    const end = offset + data.length;
    if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0) return this.#invalid();
    if (more && (data.length === 0 || data.length % 8 !== 0)) return this.#invalid();
    if (offset === 0 && !more) {
      // Not really fragmented (an atomic fragment, RFC 6946 §4): complete on its own, never
      // merged with a datagram in progress under the same key, which it leaves alone. Linux's
      // ipv6_frag_rcv() returns such a packet before it looks up a queue.
      this.stats.ok++;
      return { status: "complete", payload: data.slice(), header: frag.header?.slice() };
    }
    let d = this.#datagrams.get(key);
    if (d && now >= d.expires) {
      this.#expire(key, d);
      d = undefined;
    }
    if (end > this.opts.maxDatagramBytes) {
      this.stats.tooBig++;
      if (d) this.#discard(key, d);
      return { status: "dropped", reason: "too-big" };
    }
    if (d?.discarded) {
      this.stats.discarded++;
      return { status: "dropped", reason: "discarded" };
    }
    if (d && !this.#consistent(d, end, more)) {
      this.stats.invalid++;
      this.#discard(key, d);
      return { status: "dropped", reason: "inconsistent" };
    }
    if (!d) {
      while (this.#datagrams.size > 0 && this.#datagrams.size >= this.opts.maxDatagrams) {
        this.#evictOldest();
      }
      d = { ranges: [], covered: 0, held: 0, expires: now + this.opts.timeoutMs, discarded: false };
      this.#datagrams.set(key, d);
    }
    const pieces = this.#fit(key, d, offset, end, data);
    if (pieces === "duplicate") return { status: "dropped", reason: "duplicate" };
    if (pieces === "overlap") return { status: "dropped", reason: "overlap" };
    const adding = pieces.reduce((n, r) => n + this.#charge(r), 0);
    while (this.#held + adding > this.opts.maxBytes) {
      const oldest = this.#datagrams.keys().next().value;
      if (oldest === undefined || oldest === key) {
        this.stats.evicted++;
        this.#forget(key, d);
        return { status: "dropped", reason: "no-room" };
      }
      this.#evictOldest();
    }
    for (const r of pieces) this.#insert(d, r);
    if (!more) d.total = end;
    if (offset === 0 && !d.first) {
      d.first = { header: frag.header?.slice() ?? new Uint8Array(0), data: data.slice() };
    }
    if (d.total !== undefined && d.covered === d.total) {
      const payload = new Uint8Array(d.total);
      for (const r of d.ranges) payload.set(r.data, r.start);
      this.#forget(key, d);
      this.stats.ok++;
      return { status: "complete", payload, header: d.first?.header };
    }
    return { status: "pending" };
  }

  /** Expire datagrams whose time is up at `now`; returns them (and any `add` found expired). */
  poll(now: number): ExpiredDatagram[] {
    for (const [key, d] of [...this.#datagrams]) if (now >= d.expires) this.#expire(key, d);
    const out = this.#expired;
    this.#expired = [];
    return out;
  }

  /** When {@link poll} next has work (0 when it has reports now), or undefined for never. */
  nextDeadline(): number | undefined {
    if (this.#expired.length > 0) return 0;
    let next: number | undefined;
    for (const d of this.#datagrams.values()) {
      if (next === undefined || d.expires < next) next = d.expires;
    }
    return next;
  }

  #charge(r: Range): number {
    return r.data.length + this.opts.fragmentOverhead;
  }

  #invalid(): AddResult {
    this.stats.invalid++;
    return { status: "dropped", reason: "invalid" };
  }

  /** A fragment must agree with the known end: nothing past it, one end only. */
  #consistent(d: Datagram, end: number, more: boolean): boolean {
    if (d.total !== undefined) return more ? end <= d.total : end === d.total;
    if (more) return true;
    const last = d.ranges[d.ranges.length - 1];
    return !last || last.end <= end;
  }

  /**
   * The parts of [offset, end) to store: the whole fragment, or (keep-first) the parts that
   * fall in holes; "duplicate" or "overlap" when it is dropped (and, for "drop", the datagram).
   */
  #fit(
    key: string,
    d: Datagram,
    start: number,
    end: number,
    data: Uint8Array,
  ): Range[] | "duplicate" | "overlap" {
    const overlapping = d.ranges.filter((r) => r.start < end && start < r.end);
    if (overlapping.length === 0) return start === end ? [] : [{ start, end, data: data.slice() }];
    if (overlapping.some((r) => r.start === start && r.end === end)) {
      this.stats.duplicate++;
      return "duplicate";
    }
    this.stats.overlap++;
    if (this.opts.overlap === "drop") {
      this.#discard(key, d);
      return "overlap";
    }
    const out: Range[] = [];
    let at = start;
    for (const r of overlapping) {
      if (r.start > at) {
        out.push({ start: at, end: r.start, data: data.slice(at - start, r.start - start) });
      }
      at = Math.max(at, r.end);
    }
    if (at < end) out.push({ start: at, end, data: data.slice(at - start) });
    // Wholly inside held data: nothing new, and the held bytes win.
    return out.length === 0 ? "overlap" : out;
  }

  #insert(d: Datagram, r: Range): void {
    let i = d.ranges.length;
    while (i > 0 && d.ranges[i - 1].start > r.start) i--;
    d.ranges.splice(i, 0, r);
    d.covered += r.data.length;
    d.held += this.#charge(r);
    this.#held += this.#charge(r);
  }

  /** Drop the data but keep a tombstone until the timeout, so later fragments are refused. */
  #discard(key: string, d: Datagram): void {
    this.#held -= d.held;
    d.held = 0;
    d.covered = 0;
    d.ranges = [];
    d.first = undefined;
    d.discarded = true;
    this.#datagrams.delete(key);
    this.#datagrams.set(key, d);
  }

  #forget(key: string, d: Datagram): void {
    this.#held -= d.held;
    this.#datagrams.delete(key);
  }

  #expire(key: string, d: Datagram): void {
    this.#forget(key, d);
    if (d.discarded) return;
    this.stats.timeout++;
    const first = d.first && { ...d.first, packet: join(d.first.header, d.first.data) };
    this.#expired.push({ key, first });
  }

  #evictOldest(): void {
    const first = this.#datagrams.entries().next().value;
    if (!first) return;
    this.#forget(first[0], first[1]);
    if (!first[1].discarded) this.stats.evicted++;
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
