/**
 * IPv6 extension headers on input (RFC 8200 §4): options by their action bits (with Linux's
 * padding and count limits), routing headers (skipped at Segments Left 0, refused otherwise),
 * fragments (RFC 7112 first fragments, RFC 8200 §4.5 errors, atomic fragments, reassembly with
 * RFC 5722 overlap rules), each error answered with the ICMPv6 Parameter Problem Linux sends;
 * then the upper layer is handed on.
 */
import type { NetInterface } from "../link/interface.ts";
import {
  IPV6_FRAGMENT_HEADER_LEN,
  IPV6_HEADER_LEN,
  Ipv6OptionType,
  type Ipv6Repr,
} from "../wire/ipv6.ts";
import { type Ipv6Chain, ipv6OptionAreaError, walkIpv6Extensions } from "../wire/ipv6_ext.ts";
import { Icmpv6ParamProblemCode, type Icmpv6Repr } from "../wire/icmpv6.ts";
import { WireError } from "../wire/errors.ts";
import type { Reassembler, ReassemblyDropReason } from "../ip/reassembly.ts";
import { reassemblyKey6 } from "../ip/reassembly.ts";
import { firstFragmentIncomplete } from "./fragment_chain.ts";

/** Where a received packet is addressed, from this host's point of view. */
export type DestKind = "unicast" | "multicast";

/** A packet being taken in. */
export interface Received {
  iface: NetInterface;
  ip: Ipv6Repr;
  /** The whole packet as received (for ICMPv6 errors). */
  packet: Uint8Array;
  kind: DestKind;
}

/** What extension-header processing needs from the IPv6 layer. */
export interface ExtHeaderHost {
  /** Fragments in progress. */
  readonly reassembly: Reassembler;
  /** The clock's current time (ms). */
  now(): number;
  /** Count an event (netstat -s). */
  count(key: string): void;
  /** Send an ICMPv6 error about `offending`, received on `iface` (rate limited, RFC 4443 §2.4). */
  icmpError(
    iface: NetInterface,
    offending: Uint8Array,
    msg: Icmpv6Repr,
    toMulticastOk?: boolean,
  ): void;
  /** Ask for a timer wake-up (reassembly timeouts). */
  rearm(): void;
  /** Hand the upper layer `proto` on; `nhPointer` is where its Next Header was (-1: unknown). */
  upper(r: Received, proto: number, payload: Uint8Array, nhPointer: number): void;
}

/**
 * Walk and act on the extension headers of `bytes` (starting with `nextHeader`), then hand the
 * upper layer on. `base` is the offset of `bytes` in the packet, for Parameter Problem pointers
 * (-1 after reassembly, when no error is sent).
 */
export function walkExtensions(
  host: ExtHeaderHost,
  r: Received,
  nextHeader: number,
  bytes: Uint8Array,
  base = IPV6_HEADER_LEN,
  reassembled = false,
): void {
  let chain: Ipv6Chain;
  try {
    chain = walkIpv6Extensions(bytes, nextHeader, { lateHopByHop: "upper" });
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    host.count(`ipv6: bad-ext-chain ${err.reason}`);
    return r.iface.dropRx("ipv6: bad-ext-chain");
  }
  let nhPointer = base === IPV6_HEADER_LEN ? 6 : -1;
  for (const h of chain.headers) {
    switch (h.kind) {
      case "hop-by-hop":
      case "destination": {
        const areaError = ipv6OptionAreaError(bytes.subarray(h.offset + 2, h.offset + h.length));
        if (areaError) {
          // Linux ip6_parse_tlv(): "goto bad", dropped without an answer (Ip6InHdrErrors).
          host.count(`ipv6: options-${areaError}`);
          return r.iface.dropRx(`ipv6: options-${areaError}`);
        }
        for (const o of h.options) {
          if (h.kind === "hop-by-hop" && o.type === Ipv6OptionType.ROUTER_ALERT) continue;
          switch (o.action) {
            case "skip":
              continue;
            case "discard":
              return r.iface.dropRx("ipv6: unknown-option");
            case "discard-icmp-unless-multicast":
            case "discard-icmp":
              if (!reassembled) {
                host.icmpError(r.iface, r.packet, {
                  kind: "param-problem",
                  code: Icmpv6ParamProblemCode.UNRECOGNIZED_OPTION,
                  pointer: base + o.offset,
                  invoking: r.packet,
                }, o.action === "discard-icmp");
              }
              return r.iface.dropRx("ipv6: unknown-option");
            default: {
              const never: never = o.action;
              throw new Error(`bad action ${never}`);
            }
          }
        }
        break;
      }
      case "routing":
        // Linux ipv6_rthdr_rcv() (net/ipv6/exthdrs.c): never towards a multicast address
        // (dropped, Ip6InAddrErrors); with Segments Left 0 any type, type 0 included, is
        // skipped and the packet processed (RFC 8200 §4.4, RFC 5095 §3); otherwise a type it
        // does not route (all, here: type 0 is deprecated by RFC 5095) draws Parameter Problem
        // code 0 pointing at the Routing Type.
        if (r.kind === "multicast") return r.iface.dropRx("ipv6: routing-to-multicast");
        if (h.segmentsLeft > 0) {
          if (!reassembled) {
            host.icmpError(r.iface, r.packet, {
              kind: "param-problem",
              code: Icmpv6ParamProblemCode.ERRONEOUS_HEADER,
              pointer: base + h.offset + 2,
              invoking: r.packet,
            });
          }
          return r.iface.dropRx(
            h.routingType === 0 ? "ipv6: routing-type-0" : "ipv6: routing-unsupported",
          );
        }
        break;
      case "fragment": {
        if (reassembled) return r.iface.dropRx("ipv6: nested-fragment");
        if (
          h.fragmentOffset === 0 && h.more && firstFragmentIncomplete(chain.upper, h.nextHeader)
        ) {
          host.count("ipv6: frag-incomplete-chain");
          host.icmpError(r.iface, r.packet, {
            kind: "param-problem",
            code: Icmpv6ParamProblemCode.INCOMPLETE_HEADER_CHAIN,
            pointer: 0,
            invoking: r.packet,
          });
          return r.iface.dropRx("ipv6: frag-incomplete-chain");
        }
        // Linux ip6_frag_queue(): a fragment reaching past 65,535 bytes draws Parameter Problem
        // code 0 at its Fragment Offset, one with M set whose length is not a multiple of 8 at
        // the Payload Length (RFC 8200 §4.5); an empty one with M set is dropped silently.
        if (h.fragmentOffset !== 0 || h.more) {
          const len = chain.upper.length;
          const field = h.fragmentOffset + len > 65535
            ? base + h.offset + 2
            : h.more && len % 8 !== 0
            ? 4
            : -1;
          if (field >= 0) {
            if (base >= 0) {
              host.icmpError(r.iface, r.packet, {
                kind: "param-problem",
                code: Icmpv6ParamProblemCode.ERRONEOUS_HEADER,
                pointer: field,
                invoking: r.packet,
              });
            }
            host.count("ipv6: frag-invalid");
            return r.iface.dropRx("ipv6: frag-invalid");
          }
        }
        // The first fragment keeps every header in front of its data: its fragment header
        // (last 8 bytes) names the upper layer, and Time Exceeded quotes it.
        const res = host.reassembly.add({
          key: reassemblyKey6(r.ip.src, r.ip.dst, h.identification),
          offset: h.fragmentOffset,
          more: h.more,
          data: chain.upper,
          header: h.fragmentOffset === 0
            ? r.packet.subarray(0, r.packet.length - chain.upper.length)
            : undefined,
        }, host.now());
        host.rearm();
        switch (res.status) {
          case "pending":
            return;
          case "dropped": {
            const reason = `ipv6: ${fragDropReason(res.reason)}`;
            host.count(reason);
            return r.iface.dropRx(reason);
          }
          case "complete": {
            const first = res.header ?? new Uint8Array(0);
            // Linux ip6_frag_reasm(): the headers in front of the fragment header plus the
            // data must fit a Payload Length, "if (payload_len > IPV6_MAXPLEN) goto
            // out_oversize" (Ip6ReasmFails).
            const unfragmentable = Math.max(
              0,
              first.length - IPV6_HEADER_LEN - IPV6_FRAGMENT_HEADER_LEN,
            );
            if (unfragmentable + res.payload.length > 65535) {
              host.count("ipv6: reassembly-oversize");
              return r.iface.dropRx("ipv6: reassembly-oversize");
            }
            const nextHeader = first.length >= IPV6_FRAGMENT_HEADER_LEN
              ? first[first.length - IPV6_FRAGMENT_HEADER_LEN]
              : h.nextHeader;
            return walkExtensions(host, r, nextHeader, res.payload, -1, true);
          }
          default: {
            const never: never = res;
            throw new Error(`bad result ${JSON.stringify(never)}`);
          }
        }
      }
      case "ah":
        break;
      default: {
        const never: never = h;
        throw new Error(`bad header ${JSON.stringify(never)}`);
      }
    }
    nhPointer = base >= 0 ? base + h.offset : -1;
  }
  host.upper(r, chain.upperLayer, chain.upper, nhPointer);
}

/** The drop counter for a reassembly outcome (an inconsistent end is an overlap too). */
function fragDropReason(reason: ReassemblyDropReason): string {
  switch (reason) {
    case "overlap":
    case "inconsistent":
    case "discarded":
      return "frag-overlap";
    case "duplicate":
      return "frag-duplicate";
    case "invalid":
      return "frag-invalid";
    case "too-big":
      return "frag-too-long";
    case "no-room":
      return "reassembly-full";
    default: {
      const never: never = reason;
      return `frag-${never}`;
    }
  }
}
