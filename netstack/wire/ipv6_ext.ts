/**
 * IPv6 extension headers (RFC 8200 §4): walking a chain (Hop-by-Hop, Routing, Fragment,
 * Destination Options, AH) with limits, parsing and emitting options, and emitting the fragment
 * header. The fixed header is in ipv6.ts.
 */
import { put16, put32, u16, u32 } from "./_bytes.ts";
import { WireError } from "./errors.ts";
import {
  IPV6_FRAGMENT_HEADER_LEN,
  Ipv6ExtField,
  Ipv6FragmentField,
  Ipv6NextHeader,
  Ipv6OptionType,
} from "./ipv6.ts";

const X = Ipv6ExtField;
const NH = Ipv6NextHeader;

/** What a node must do with an option type it does not recognise (RFC 8200 §4.2, high 2 bits). */
export type Ipv6OptionAction =
  | "skip"
  | "discard"
  | "discard-icmp"
  | "discard-icmp-unless-multicast";

/** One option of a Hop-by-Hop or Destination Options header (Pad1/PadN are not listed). */
export interface Ipv6Option {
  /** Option Type, including its action and change bits. */
  type: number;
  /** Option data (zero-copy). */
  data: Uint8Array;
  /** Offset of the option's type byte from the start of the walked bytes. */
  offset: number;
  /** The action bits of `type`, for an option the caller does not recognise. */
  action: Ipv6OptionAction;
  /** True when the option data may change en route (third-highest bit). */
  mayChange: boolean;
}

interface ExtCommon {
  /** Offset of this header from the start of the walked bytes (the IPv6 payload). */
  offset: number;
  /** Length of this header in bytes. */
  length: number;
  /** The Next Header field of this header. */
  nextHeader: number;
}

/** Hop-by-Hop (0) or Destination Options (60) header. */
export interface Ipv6OptionsHeader extends ExtCommon {
  kind: "hop-by-hop" | "destination";
  options: Ipv6Option[];
}

/** Routing header (43). Type 0 is deprecated (RFC 5095): the caller must reject it. */
export interface Ipv6RoutingHeader extends ExtCommon {
  kind: "routing";
  routingType: number;
  segmentsLeft: number;
  /** Type-specific data after the first 4 bytes (zero-copy). */
  data: Uint8Array;
}

/** Fragment header (44). The walk stops after it: what follows is fragment data. */
export interface Ipv6FragmentHeader extends ExtCommon {
  kind: "fragment";
  /** Fragment offset in bytes (field × 8). */
  fragmentOffset: number;
  /** The M flag: more fragments follow. */
  more: boolean;
  identification: number;
}

/** Authentication Header (51, RFC 4302). */
export interface Ipv6AuthHeader extends ExtCommon {
  kind: "ah";
  spi: number;
  sequence: number;
  /** Integrity check value (zero-copy). */
  icv: Uint8Array;
}

/** One extension header found by {@link walkIpv6Extensions}. */
export type Ipv6ExtHeader =
  | Ipv6OptionsHeader
  | Ipv6RoutingHeader
  | Ipv6FragmentHeader
  | Ipv6AuthHeader;

/** The result of walking an extension-header chain. */
export interface Ipv6Chain {
  /** Extension headers in order. */
  headers: Ipv6ExtHeader[];
  /**
   * The protocol after the chain: an upper layer (6, 17, 58, …), or ESP (50) or No Next Header
   * (59), where walking must stop, or after a fragment header the fragment's Next Header.
   */
  upperLayer: number;
  /** Offset of the upper-layer header from the start of the walked bytes. */
  upperOffset: number;
  /** The bytes from `upperOffset` on (zero-copy). */
  upper: Uint8Array;
}

/** Limits on extension-header chains: defaults 8 headers and 512 bytes. */
export interface Ipv6ChainLimits {
  /** Most extension headers accepted (default 8). */
  maxHeaders?: number;
  /** Most bytes of extension headers accepted (default 512). */
  maxBytes?: number;
  /**
   * What a Hop-by-Hop header after the first position means: "throw" (default) a WireError
   * "malformed"; "upper" end the chain there with upper layer 0, as Linux's input path takes it
   * (no protocol handles 0 there: Parameter Problem code 1, "unrecognized Next Header").
   */
  lateHopByHop?: "throw" | "upper";
}

const ACTIONS: readonly Ipv6OptionAction[] = [
  "skip",
  "discard",
  "discard-icmp",
  "discard-icmp-unless-multicast",
];

/** The action bits of an option type. */
export function ipv6OptionAction(type: number): Ipv6OptionAction {
  return ACTIONS[(type >>> 6) & 3];
}

/**
 * Parse the option TLVs in `b` (the area after the first two bytes of a Hop-by-Hop or
 * Destination Options header). `base` is added to each option's offset.
 * Throws WireError "malformed" when an option runs past the end.
 */
export function parseIpv6Options(b: Uint8Array, base = 0): Ipv6Option[] {
  const out: Ipv6Option[] = [];
  let i = 0;
  while (i < b.length) {
    const type = b[i];
    if (type === Ipv6OptionType.PAD1) {
      i++;
      continue;
    }
    if (i + 2 > b.length || i + 2 + b[i + 1] > b.length) {
      throw new WireError("ipv6", "malformed", `option ${type} at ${base + i} overruns`);
    }
    const len = b[i + 1];
    if (type !== Ipv6OptionType.PADN) {
      out.push({
        type,
        data: b.subarray(i + 2, i + 2 + len),
        offset: base + i,
        action: ACTIONS[type >>> 6],
        mayChange: (type & 0x20) !== 0,
      });
    }
    i += 2 + len;
  }
  return out;
}

/**
 * What Linux's `ip6_parse_tlv()` (net/ipv6/exthdrs.c) refuses in the option area `b` of a
 * Hop-by-Hop or Destination Options header, or undefined: "padding" for more than 7 bytes of
 * consecutive Pad1/PadN or a PadN with a non-zero byte (RFC 4942 §2.1.9.5), "too-many" for more
 * than `maxOptions` other options (net.ipv6.max_dst_opts_number and max_hbh_opts_number: 8).
 * A malformed TLV is left to {@link parseIpv6Options}.
 */
export function ipv6OptionAreaError(
  b: Uint8Array,
  maxOptions = 8,
): "padding" | "too-many" | undefined {
  let pad = 0;
  let options = 0;
  let i = 0;
  while (i < b.length) {
    if (b[i] === Ipv6OptionType.PAD1) {
      if (++pad > 7) return "padding";
      i++;
      continue;
    }
    if (i + 2 > b.length) return undefined;
    const len = 2 + b[i + 1];
    if (b[i] === Ipv6OptionType.PADN) {
      pad += len;
      if (pad > 7) return "padding";
      for (let j = i + 2; j < i + len && j < b.length; j++) if (b[j] !== 0) return "padding";
    } else {
      if (++options > maxOptions) return "too-many";
      pad = 0;
    }
    i += len;
  }
  return undefined;
}

/**
 * Walk the extension-header chain at the start of `payload` (an IPv6 payload), whose first header
 * is `nextHeader` (the fixed header's Next Header). Offsets are relative to `payload`; add
 * IPV6_HEADER_LEN for an ICMPv6 Parameter Problem pointer.
 *
 * Throws WireError "truncated" (a header runs past the end), "malformed" (Hop-by-Hop not first,
 * bad option TLVs, AH too short) or "unsupported" (chain longer than the limits).
 *
 * @example
 * ```ts
 * const ip = parseIpv6(frame);
 * const chain = walkIpv6Extensions(ip.payload, ip.nextHeader);
 * if (chain.upperLayer === Ipv6NextHeader.TCP) handleTcp(chain.upper);
 * ```
 */
export function walkIpv6Extensions(
  payload: Uint8Array,
  nextHeader: number,
  limits?: Ipv6ChainLimits,
): Ipv6Chain {
  const maxHeaders = limits?.maxHeaders ?? 8;
  const maxBytes = limits?.maxBytes ?? 512;
  const headers: Ipv6ExtHeader[] = [];
  let nh = nextHeader;
  let off = 0;
  for (;;) {
    if (
      nh !== NH.HOP_BY_HOP && nh !== NH.DESTINATION && nh !== NH.ROUTING &&
      nh !== NH.FRAGMENT && nh !== NH.AH
    ) break;
    if (nh === NH.HOP_BY_HOP && off !== 0 && limits?.lateHopByHop === "upper") break;
    if (headers.length >= maxHeaders) {
      throw new WireError("ipv6", "unsupported", `more than ${maxHeaders} extension headers`);
    }
    if (off + 8 > payload.length) {
      throw new WireError("ipv6", "truncated", `extension header ${nh} at ${off}`);
    }
    const next = payload[off + X.NEXT_HEADER];
    let len: number;
    if (nh === NH.FRAGMENT) len = IPV6_FRAGMENT_HEADER_LEN;
    else if (nh === NH.AH) len = (payload[off + X.LENGTH] + 2) << 2;
    else len = (payload[off + X.LENGTH] + 1) << 3;
    if (off + len > maxBytes) {
      throw new WireError("ipv6", "unsupported", `extension headers exceed ${maxBytes} bytes`);
    }
    if (off + len > payload.length) {
      throw new WireError("ipv6", "truncated", `extension header ${nh} at ${off}, ${len} bytes`);
    }
    const h = payload.subarray(off, off + len);
    switch (nh) {
      case NH.HOP_BY_HOP:
      case NH.DESTINATION:
        if (nh === NH.HOP_BY_HOP && off !== 0) {
          throw new WireError("ipv6", "malformed", `hop-by-hop header at ${off}, not first`);
        }
        headers.push({
          kind: nh === NH.HOP_BY_HOP ? "hop-by-hop" : "destination",
          offset: off,
          length: len,
          nextHeader: next,
          options: parseIpv6Options(h.subarray(X.OPTIONS), off + X.OPTIONS),
        });
        break;
      case NH.ROUTING:
        headers.push({
          kind: "routing",
          offset: off,
          length: len,
          nextHeader: next,
          routingType: h[X.ROUTING_TYPE],
          segmentsLeft: h[X.SEGMENTS_LEFT],
          data: h.subarray(X.ROUTING_DATA),
        });
        break;
      case NH.FRAGMENT: {
        const of = u16(h, Ipv6FragmentField.OFFSET_FLAGS);
        headers.push({
          kind: "fragment",
          offset: off,
          length: len,
          nextHeader: next,
          fragmentOffset: of & 0xfff8,
          more: (of & 1) !== 0,
          identification: u32(h, Ipv6FragmentField.IDENT),
        });
        off += len;
        return { headers, upperLayer: next, upperOffset: off, upper: payload.subarray(off) };
      }
      case NH.AH:
        if (len < X.AH_ICV) throw new WireError("ipv6", "malformed", `AH of ${len} bytes`);
        headers.push({
          kind: "ah",
          offset: off,
          length: len,
          nextHeader: next,
          spi: u32(h, X.AH_SPI),
          sequence: u32(h, X.AH_SEQUENCE),
          icv: h.subarray(X.AH_ICV),
        });
        break;
    }
    off += len;
    nh = next;
  }
  return { headers, upperLayer: nh, upperOffset: off, upper: payload.subarray(off) };
}

/** A fragment header to build with {@link emitIpv6Fragment}. */
export interface Ipv6FragmentRepr {
  nextHeader: number;
  /** Offset of this fragment's data in bytes; a multiple of 8 below 65536. */
  fragmentOffset: number;
  /** More fragments follow. */
  more: boolean;
  identification: number;
}

/**
 * Write an 8-byte fragment header into `buf` at offset 0; returns 8.
 * Throws RangeError for an offset that is not a multiple of 8 or too large, or a short buffer.
 */
export function emitIpv6Fragment(frag: Ipv6FragmentRepr, buf: Uint8Array): number {
  const o = frag.fragmentOffset;
  if (o % 8 !== 0 || o < 0 || o > 0xfff8) throw new RangeError(`Bad fragment offset ${o}`);
  if (buf.length < IPV6_FRAGMENT_HEADER_LEN) throw new RangeError("Buffer too small");
  buf[Ipv6FragmentField.NEXT_HEADER] = frag.nextHeader;
  buf[Ipv6FragmentField.NEXT_HEADER + 1] = 0;
  put16(buf, Ipv6FragmentField.OFFSET_FLAGS, o | (frag.more ? 1 : 0));
  put32(buf, Ipv6FragmentField.IDENT, frag.identification);
  return IPV6_FRAGMENT_HEADER_LEN;
}

/** An option to emit with {@link emitIpv6OptionsHeader}. */
export interface Ipv6OptionRepr {
  type: number;
  data: Uint8Array;
}

/** Length of a Hop-by-Hop/Destination Options header carrying `options` (padded to 8). */
export function ipv6OptionsHeaderLength(options: readonly Ipv6OptionRepr[]): number {
  let n = 2;
  for (const o of options) n += 2 + o.data.length;
  return (n + 7) & ~7;
}

/**
 * Write a Hop-by-Hop or Destination Options header (Next Header, length, options in order, then
 * Pad1/PadN to a multiple of 8) into `buf` at offset 0; returns bytes written.
 *
 * @example
 * ```ts
 * // Router Alert (MLD) hop-by-hop header in front of an ICMPv6 MLD report.
 * emitIpv6OptionsHeader(58, [{ type: Ipv6OptionType.ROUTER_ALERT, data: new Uint8Array(2) }], buf);
 * ```
 */
export function emitIpv6OptionsHeader(
  nextHeader: number,
  options: readonly Ipv6OptionRepr[],
  buf: Uint8Array,
): number {
  const len = ipv6OptionsHeaderLength(options);
  if (len > 2048) throw new RangeError(`Options header of ${len} bytes`);
  if (buf.length < len) throw new RangeError(`Buffer of ${buf.length} bytes < ${len}`);
  buf[X.NEXT_HEADER] = nextHeader;
  buf[X.LENGTH] = (len >>> 3) - 1;
  let i = X.OPTIONS;
  for (const o of options) {
    if (o.data.length > 255) throw new RangeError(`Option data of ${o.data.length} bytes`);
    buf[i] = o.type;
    buf[i + 1] = o.data.length;
    buf.set(o.data, i + 2);
    i += 2 + o.data.length;
  }
  const pad = len - i;
  if (pad === 1) buf[i] = Ipv6OptionType.PAD1;
  else if (pad > 1) {
    buf[i] = Ipv6OptionType.PADN;
    buf[i + 1] = pad - 2;
    buf.fill(0, i + 2, len);
  }
  return len;
}
