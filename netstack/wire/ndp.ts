/**
 * Neighbor Discovery messages and options (RFC 4861 §4), carried in ICMPv6.
 *
 * ```text
 * Router Solicitation (133)          Router Advertisement (134)
 * +--------+--------+--------+        +--------+--------+-----------------+
 * |  Type  |  Code  |Checksum|        |  Type  |  Code  |    Checksum     |
 * +--------+--------+--------+        +--------+--------+-----------------+
 * |         Reserved         |        |Cur Hop |M|O|Rsv | Router Lifetime |
 * +--------------------------+        +--------+--------+-----------------+
 * |  Options ...                      |            Reachable Time         |
 *                                     |            Retrans Timer          |
 *                                     |  Options ...
 *
 * Neighbor Solicitation (135)        Neighbor Advertisement (136)
 * | Type | Code | Checksum     |      | Type | Code | Checksum            |
 * |         Reserved           |      |R|S|O|        Reserved            |
 * |   Target Address (16)      |      |     Target Address (16)         |
 * |  Options ...                      |  Options ...
 *
 * Redirect (137): Type, Code, Checksum, Reserved (4), Target Address (16),
 * Destination Address (16), Options ...
 *
 * Options:   +--------+--------+---------------------------+
 *            |  Type  | Length |  (Length × 8 − 2 bytes)   |
 *            +--------+--------+---------------------------+
 *  1/2 Source/Target Link-layer Address: the address, zero-padded.
 *  3 Prefix Information (Length 4): Prefix Length, L|A|Rsvd, Valid Lifetime (4),
 *    Preferred Lifetime (4), Reserved2 (4), Prefix (16).
 *  4 Redirected Header: Reserved (6), IP header + data.
 *  5 MTU (Length 1): Reserved (2), MTU (4).
 * 25 RDNSS, 31 DNSSL (RFC 8106): Reserved (2), Lifetime (4), addresses or names (ndp_dns.ts).
 * ```
 *
 * The byte arrays passed to parse/emit are whole ICMPv6 messages (type, code, checksum first).
 * Hop Limit 255 and the other RFC 4861 §6.1/§7.1 checks on the IP header are the caller's.
 */

import { checksum, pseudoHeaderSum6, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import type { Ipv6AddressPair } from "./ipv6.ts";
import { put16, put32, u16, u32 } from "./_bytes.ts";
import {
  type DnsslOption,
  emitNdpDnsOption,
  ndpDnsOptionLength,
  parseDnssl,
  parseRdnss,
  type RdnssOption,
} from "./ndp_dns.ts";

/** NDP ICMPv6 message types. */
export const NdpType = {
  ROUTER_SOLICIT: 133,
  ROUTER_ADVERT: 134,
  NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136,
  REDIRECT: 137,
} as const;

/** NDP option types. */
export const NdpOptionType = {
  SOURCE_LLADDR: 1,
  TARGET_LLADDR: 2,
  PREFIX_INFO: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
  RDNSS: 25,
  DNSSL: 31,
} as const;

/** Router Solicitation fixed length (before options). */
export const NDP_RS_LEN = 8;
/** Router Advertisement fixed length. */
export const NDP_RA_LEN = 16;
/** Neighbor Solicitation fixed length. */
export const NDP_NS_LEN = 24;
/** Neighbor Advertisement fixed length. */
export const NDP_NA_LEN = 24;
/** Redirect fixed length. */
export const NDP_REDIRECT_LEN = 40;
/** Prefix Information option length. */
export const NDP_PREFIX_INFO_LEN = 32;
/** MTU option length. */
export const NDP_MTU_OPTION_LEN = 8;

/** Byte offsets inside NDP messages. */
export const NdpField = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  /** RA: Cur Hop Limit; NA: R|S|O flags. */
  HOP_LIMIT_OR_FLAGS: 4,
  RA_FLAGS: 5,
  RA_ROUTER_LIFETIME: 6,
  RA_REACHABLE_TIME: 8,
  RA_RETRANS_TIMER: 12,
  TARGET: 8,
  REDIRECT_DESTINATION: 24,
} as const;

/** Byte offsets inside a Prefix Information option. */
export const NdpPrefixField = {
  PREFIX_LENGTH: 2,
  FLAGS: 3,
  VALID_LIFETIME: 4,
  PREFERRED_LIFETIME: 8,
  PREFIX: 16,
} as const;

/** Flag bits: RA byte 5 (M, O), NA byte 4 (R, S, O), prefix option byte 3 (L, A). */
export const NdpFlag = {
  RA_MANAGED: 0x80,
  RA_OTHER: 0x40,
  NA_ROUTER: 0x80,
  NA_SOLICITED: 0x40,
  NA_OVERRIDE: 0x20,
  PREFIX_ON_LINK: 0x80,
  PREFIX_AUTONOMOUS: 0x40,
} as const;

/** One NDP option. Link-layer addresses carry the whole option data (6 bytes on Ethernet). */
export type NdpOption =
  | { kind: "source-lladdr"; addr: Uint8Array }
  | { kind: "target-lladdr"; addr: Uint8Array }
  | {
    kind: "prefix-info";
    prefixLength: number;
    onLink: boolean;
    autonomous: boolean;
    /** Seconds; 0xffffffff is infinity. */
    validLifetime: number;
    /** Seconds; 0xffffffff is infinity. */
    preferredLifetime: number;
    prefix: Uint8Array;
  }
  | { kind: "redirected-header"; data: Uint8Array }
  | { kind: "mtu"; mtu: number }
  | RdnssOption
  | DnsslOption
  /** Any other type, or an RDNSS/DNSSL option too malformed to use (`malformed` says why). */
  | { kind: "unknown"; type: number; data: Uint8Array; malformed?: string };

/** An NDP message as a plain record. */
export type NdpRepr =
  | { kind: "router-solicit"; options: NdpOption[] }
  | {
    kind: "router-advert";
    curHopLimit: number;
    managed: boolean;
    other: boolean;
    /** Seconds. */
    routerLifetime: number;
    /** Milliseconds; 0 is unspecified. */
    reachableTime: number;
    /** Milliseconds; 0 is unspecified. */
    retransTimer: number;
    options: NdpOption[];
  }
  | { kind: "neighbor-solicit"; target: Uint8Array; options: NdpOption[] }
  | {
    kind: "neighbor-advert";
    router: boolean;
    solicited: boolean;
    override: boolean;
    target: Uint8Array;
    options: NdpOption[];
  }
  | { kind: "redirect"; target: Uint8Array; destination: Uint8Array; options: NdpOption[] };

const F = NdpField;
const T = NdpType;
const O = NdpOptionType;

/** Fixed length of an NDP message type, or undefined for other types. */
export function ndpFixedLength(type: number): number | undefined {
  switch (type) {
    case T.ROUTER_SOLICIT:
      return NDP_RS_LEN;
    case T.ROUTER_ADVERT:
      return NDP_RA_LEN;
    case T.NEIGHBOR_SOLICIT:
      return NDP_NS_LEN;
    case T.NEIGHBOR_ADVERT:
      return NDP_NA_LEN;
    case T.REDIRECT:
      return NDP_REDIRECT_LEN;
    default:
      return undefined;
  }
}

function checkNdp(bytes: Uint8Array): number {
  if (bytes.length < 4) throw new WireError("ndp", "truncated", `${bytes.length} bytes`);
  const fixed = ndpFixedLength(bytes[0]);
  if (fixed === undefined) throw new WireError("ndp", "unsupported", `type ${bytes[0]}`);
  if (bytes.length < fixed) throw new WireError("ndp", "truncated", `${bytes.length} < ${fixed}`);
  if (bytes[1] !== 0) throw new WireError("ndp", "malformed", `code ${bytes[1]}`);
  return fixed;
}

let _unchecked = false;

/**
 * Checked view of an NDP message: the constructor checks the type is 133..137, the code is 0 and
 * the fixed part is present. Accessors for another type's fields return 0 or an empty array
 * (or a meaningless in-bounds byte), never read out of bounds.
 */
export class NdpPacket {
  /** The whole ICMPv6 message. */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated", "unsupported" or "malformed". */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkNdp(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): NdpPacket {
    _unchecked = true;
    try {
      return new NdpPacket(bytes);
    } finally {
      _unchecked = false;
    }
  }

  #isRa(): boolean {
    return this.type === T.ROUTER_ADVERT && this.bytes.length >= NDP_RA_LEN;
  }

  /** ICMPv6 type (133..137). */
  get type(): number {
    return this.bytes[F.TYPE];
  }
  set type(v: number) {
    this.bytes[F.TYPE] = v;
  }
  /** RA Cur Hop Limit. */
  get curHopLimit(): number {
    return this.bytes[F.HOP_LIMIT_OR_FLAGS];
  }
  set curHopLimit(v: number) {
    this.bytes[F.HOP_LIMIT_OR_FLAGS] = v;
  }
  /** RA flags byte (M, O, …). */
  get raFlags(): number {
    return this.bytes[F.RA_FLAGS];
  }
  set raFlags(v: number) {
    this.bytes[F.RA_FLAGS] = v;
  }
  /** RA Router Lifetime (s). */
  get routerLifetime(): number {
    return u16(this.bytes, F.RA_ROUTER_LIFETIME);
  }
  set routerLifetime(v: number) {
    put16(this.bytes, F.RA_ROUTER_LIFETIME, v);
  }
  /** RA Reachable Time (ms); 0 for other message types. */
  get reachableTime(): number {
    return this.#isRa() ? u32(this.bytes, F.RA_REACHABLE_TIME) : 0;
  }
  set reachableTime(v: number) {
    put32(this.bytes, F.RA_REACHABLE_TIME, v);
  }
  /** RA Retrans Timer (ms); 0 for other message types. */
  get retransTimer(): number {
    return this.#isRa() ? u32(this.bytes, F.RA_RETRANS_TIMER) : 0;
  }
  set retransTimer(v: number) {
    put32(this.bytes, F.RA_RETRANS_TIMER, v);
  }
  /** NA flags byte (R, S, O). */
  get naFlags(): number {
    return this.bytes[F.HOP_LIMIT_OR_FLAGS];
  }
  set naFlags(v: number) {
    this.bytes[F.HOP_LIMIT_OR_FLAGS] = v;
  }
  /** NS/NA/Redirect Target Address (zero-copy; empty for RS and RA). */
  get target(): Uint8Array {
    return this.bytes.length >= F.TARGET + 16 && this.type !== T.ROUTER_ADVERT
      ? this.bytes.subarray(F.TARGET, F.TARGET + 16)
      : new Uint8Array(0);
  }
  /** Redirect Destination Address (zero-copy; empty for other types). */
  get destination(): Uint8Array {
    return this.type === T.REDIRECT && this.bytes.length >= NDP_REDIRECT_LEN
      ? this.bytes.subarray(F.REDIRECT_DESTINATION, NDP_REDIRECT_LEN)
      : new Uint8Array(0);
  }
  /** The options area (zero-copy). */
  get options(): Uint8Array {
    return this.bytes.subarray(ndpFixedLength(this.type) ?? this.bytes.length);
  }
}

/**
 * Parse an NDP options area. Length 0 or an option running past the end → "malformed", as does a
 * known option with an impossible length (prefix info ≠ 4, MTU ≠ 1). A malformed RDNSS or DNSSL
 * option does not throw: it comes back as "unknown" with `malformed` set, to be ignored and
 * counted (RFC 8106 §5.1, §5.2), so the rest of the message still applies.
 */
export function parseNdpOptions(b: Uint8Array): NdpOption[] {
  const out: NdpOption[] = [];
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) throw new WireError("ndp", "malformed", `option header at ${i} cut`);
    const type = b[i];
    const len = b[i + 1] << 3;
    if (len === 0) throw new WireError("ndp", "malformed", `option ${type} has length 0`);
    if (i + len > b.length) {
      throw new WireError("ndp", "malformed", `option ${type} of ${len} bytes overruns`);
    }
    const o = b.subarray(i, i + len);
    switch (type) {
      case O.SOURCE_LLADDR:
        out.push({ kind: "source-lladdr", addr: o.subarray(2) });
        break;
      case O.TARGET_LLADDR:
        out.push({ kind: "target-lladdr", addr: o.subarray(2) });
        break;
      case O.PREFIX_INFO: {
        if (len !== NDP_PREFIX_INFO_LEN) {
          throw new WireError("ndp", "malformed", `prefix information of ${len} bytes`);
        }
        const P = NdpPrefixField;
        out.push({
          kind: "prefix-info",
          prefixLength: o[P.PREFIX_LENGTH],
          onLink: (o[P.FLAGS] & NdpFlag.PREFIX_ON_LINK) !== 0,
          autonomous: (o[P.FLAGS] & NdpFlag.PREFIX_AUTONOMOUS) !== 0,
          validLifetime: u32(o, P.VALID_LIFETIME),
          preferredLifetime: u32(o, P.PREFERRED_LIFETIME),
          prefix: o.slice(P.PREFIX, P.PREFIX + 16),
        });
        break;
      }
      case O.REDIRECTED_HEADER:
        out.push({ kind: "redirected-header", data: o.subarray(8) });
        break;
      case O.MTU:
        if (len !== NDP_MTU_OPTION_LEN) throw new WireError("ndp", "malformed", `MTU of ${len}`);
        out.push({ kind: "mtu", mtu: u32(o, 4) });
        break;
      case O.RDNSS:
      case O.DNSSL: {
        const r = type === O.RDNSS ? parseRdnss(o) : parseDnssl(o);
        out.push(
          typeof r === "string" ? { kind: "unknown", type, data: o.subarray(2), malformed: r } : r,
        );
        break;
      }
      default:
        out.push({ kind: "unknown", type, data: o.subarray(2) });
    }
    i += len;
  }
  return out;
}

/**
 * Parse an NDP message (a whole ICMPv6 message). When `addrs` is given the ICMPv6 checksum is
 * verified too ("bad-checksum"); parseIcmpv6 always verifies it. Throws WireError "truncated",
 * "unsupported" (not an NDP type), "malformed" (code ≠ 0, bad options).
 */
export function parseNdp(bytes: Uint8Array, addrs?: Ipv6AddressPair): NdpRepr {
  const fixed = checkNdp(bytes);
  if (addrs && !verifies(bytes, pseudoHeaderSum6(addrs.src, addrs.dst, 58, bytes.length))) {
    throw new WireError("ndp", "bad-checksum");
  }
  const options = parseNdpOptions(bytes.subarray(fixed));
  const b4 = bytes[F.HOP_LIMIT_OR_FLAGS];
  switch (bytes[0]) {
    case T.ROUTER_SOLICIT:
      return { kind: "router-solicit", options };
    case T.ROUTER_ADVERT:
      return {
        kind: "router-advert",
        curHopLimit: b4,
        managed: (bytes[F.RA_FLAGS] & NdpFlag.RA_MANAGED) !== 0,
        other: (bytes[F.RA_FLAGS] & NdpFlag.RA_OTHER) !== 0,
        routerLifetime: u16(bytes, F.RA_ROUTER_LIFETIME),
        reachableTime: u32(bytes, F.RA_REACHABLE_TIME),
        retransTimer: u32(bytes, F.RA_RETRANS_TIMER),
        options,
      };
    case T.NEIGHBOR_SOLICIT:
      return { kind: "neighbor-solicit", target: bytes.slice(F.TARGET, F.TARGET + 16), options };
    case T.NEIGHBOR_ADVERT:
      return {
        kind: "neighbor-advert",
        router: (b4 & NdpFlag.NA_ROUTER) !== 0,
        solicited: (b4 & NdpFlag.NA_SOLICITED) !== 0,
        override: (b4 & NdpFlag.NA_OVERRIDE) !== 0,
        target: bytes.slice(F.TARGET, F.TARGET + 16),
        options,
      };
    case T.REDIRECT:
      return {
        kind: "redirect",
        target: bytes.slice(F.TARGET, F.TARGET + 16),
        destination: bytes.slice(F.REDIRECT_DESTINATION, NDP_REDIRECT_LEN),
        options,
      };
    default:
      // Unreachable: checkNdp admits only 133..137.
      throw new WireError("ndp", "unsupported", `type ${bytes[0]}`);
  }
}

/** Bytes one option takes when emitted (padded to a multiple of 8). */
export function ndpOptionLength(o: NdpOption): number {
  switch (o.kind) {
    case "source-lladdr":
    case "target-lladdr":
      return (2 + o.addr.length + 7) & ~7;
    case "prefix-info":
      return NDP_PREFIX_INFO_LEN;
    case "redirected-header":
      return (8 + o.data.length + 7) & ~7;
    case "mtu":
      return NDP_MTU_OPTION_LEN;
    case "rdnss":
    case "dnssl":
      return ndpDnsOptionLength(o);
    case "unknown":
      return (2 + o.data.length + 7) & ~7;
    default: {
      const never: never = o;
      throw new TypeError(`Unknown NDP option ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Write options into `b` at offset 0; returns bytes written. A redirected header longer than an
 * option can hold (2040 bytes) is a caller bug (RangeError).
 */
export function emitNdpOptions(options: readonly NdpOption[], b: Uint8Array): number {
  let i = 0;
  for (const o of options) {
    const len = ndpOptionLength(o);
    if (len > 2040) throw new RangeError(`NDP option of ${len} bytes`);
    b.fill(0, i, i + len);
    b[i + 1] = len >>> 3;
    switch (o.kind) {
      case "source-lladdr":
      case "target-lladdr":
        b[i] = o.kind === "source-lladdr" ? O.SOURCE_LLADDR : O.TARGET_LLADDR;
        b.set(o.addr, i + 2);
        break;
      case "prefix-info": {
        const P = NdpPrefixField;
        b[i] = O.PREFIX_INFO;
        b[i + P.PREFIX_LENGTH] = o.prefixLength;
        b[i + P.FLAGS] = (o.onLink ? NdpFlag.PREFIX_ON_LINK : 0) |
          (o.autonomous ? NdpFlag.PREFIX_AUTONOMOUS : 0);
        put32(b, i + P.VALID_LIFETIME, o.validLifetime);
        put32(b, i + P.PREFERRED_LIFETIME, o.preferredLifetime);
        b.set(o.prefix.subarray(0, 16), i + P.PREFIX);
        break;
      }
      case "redirected-header":
        b[i] = O.REDIRECTED_HEADER;
        b.set(o.data, i + 8);
        break;
      case "mtu":
        b[i] = O.MTU;
        put32(b, i + 4, o.mtu);
        break;
      case "rdnss":
      case "dnssl":
        b[i] = o.kind === "rdnss" ? O.RDNSS : O.DNSSL;
        emitNdpDnsOption(o, b.subarray(i, i + len));
        break;
      case "unknown":
        b[i] = o.type;
        b.set(o.data, i + 2);
        break;
      default: {
        const never: never = o;
        throw new TypeError(`Unknown NDP option ${JSON.stringify(never)}`);
      }
    }
    i += len;
  }
  return i;
}

function typeOf(repr: NdpRepr): number {
  switch (repr.kind) {
    case "router-solicit":
      return T.ROUTER_SOLICIT;
    case "router-advert":
      return T.ROUTER_ADVERT;
    case "neighbor-solicit":
      return T.NEIGHBOR_SOLICIT;
    case "neighbor-advert":
      return T.NEIGHBOR_ADVERT;
    case "redirect":
      return T.REDIRECT;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown NDP message ${JSON.stringify(never)}`);
    }
  }
}

/** Total ICMPv6 message length for `repr`. */
export function ndpLength(repr: NdpRepr): number {
  let n = ndpFixedLength(typeOf(repr)) ?? 0;
  for (const o of repr.options) n += ndpOptionLength(o);
  return n;
}

/**
 * Write `repr` as a complete ICMPv6 message (checksum over the pseudo-header of `addrs`) into
 * `buf` at offset 0; returns bytes written. Throws RangeError when `buf` is too small.
 */
export function emitNdp(repr: NdpRepr, buf: Uint8Array, addrs: Ipv6AddressPair): number {
  const type = typeOf(repr);
  const fixed = ndpFixedLength(type) ?? 0;
  const total = ndpLength(repr);
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  buf.fill(0, 0, fixed);
  buf[F.TYPE] = type;
  switch (repr.kind) {
    case "router-solicit":
      break;
    case "router-advert":
      buf[F.HOP_LIMIT_OR_FLAGS] = repr.curHopLimit;
      buf[F.RA_FLAGS] = (repr.managed ? NdpFlag.RA_MANAGED : 0) |
        (repr.other ? NdpFlag.RA_OTHER : 0);
      put16(buf, F.RA_ROUTER_LIFETIME, repr.routerLifetime);
      put32(buf, F.RA_REACHABLE_TIME, repr.reachableTime);
      put32(buf, F.RA_RETRANS_TIMER, repr.retransTimer);
      break;
    case "neighbor-solicit":
      buf.set(repr.target.subarray(0, 16), F.TARGET);
      break;
    case "neighbor-advert":
      buf[F.HOP_LIMIT_OR_FLAGS] = (repr.router ? NdpFlag.NA_ROUTER : 0) |
        (repr.solicited ? NdpFlag.NA_SOLICITED : 0) | (repr.override ? NdpFlag.NA_OVERRIDE : 0);
      buf.set(repr.target.subarray(0, 16), F.TARGET);
      break;
    case "redirect":
      buf.set(repr.target.subarray(0, 16), F.TARGET);
      buf.set(repr.destination.subarray(0, 16), F.REDIRECT_DESTINATION);
      break;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown NDP message ${JSON.stringify(never)}`);
    }
  }
  emitNdpOptions(repr.options, buf.subarray(fixed, total));
  put16(
    buf,
    F.CHECKSUM,
    checksum(buf.subarray(0, total), pseudoHeaderSum6(addrs.src, addrs.dst, 58, total)),
  );
  return total;
}

/** Encode `repr` into a new buffer of exactly `ndpLength(repr)` bytes, checksum filled in. */
export function encodeNdp(repr: NdpRepr, addrs: Ipv6AddressPair): Uint8Array {
  const buf = new Uint8Array(ndpLength(repr));
  emitNdp(repr, buf, addrs);
  return buf;
}
