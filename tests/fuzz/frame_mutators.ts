/**
 * Frame mutators for the frame fuzzer: each takes a seed Ethernet frame (IPv4, ARP or IPv6 at
 * offset 14) and returns one or more hostile frames. They know just enough of the wire formats
 * to lie about lengths and to pile up options; `readdress` then points a frame at the host under
 * test (its MAC and IPv4 address) and, usually, repairs checksums so the lie gets past them.
 */
import { checksum, pseudoHeaderSum4 } from "../../netstack/wire/checksum.ts";
import type { Rng } from "./rng.ts";

const ETH = 14;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;

/** Where the host under test lives, and which TCP 4-tuple the fuzzer must leave alone. */
export interface FuzzTarget {
  mac: Uint8Array;
  ip: number;
  /** A peer address frames may claim to come from (a neighbour's). */
  peerIp: number;
  /** The protected connection: segments with this (srcPort, dstPort) from `peerIp` are moved. */
  protectedPorts: [number, number];
  /** Where segments aimed at the protected connection go instead (another live connection). */
  victimPorts: [number, number];
}

/** The name of a mutator, as printed and stored in regression files. */
export type MutatorName =
  | "bitflip"
  | "truncate"
  | "length-lie"
  | "option-soup"
  | "fragment-storm"
  | "arp-flood"
  | "splice";

/** Every mutator, for round-robin and weighting. */
export const MUTATORS: readonly MutatorName[] = [
  "bitflip",
  "truncate",
  "length-lie",
  "option-soup",
  "fragment-storm",
  "arp-flood",
  "splice",
];

/** Apply mutator `name` to `seed`; returns the frames to feed, in order. */
export function mutate(
  name: MutatorName,
  seed: Uint8Array,
  rng: Rng,
  target: FuzzTarget,
  other: Uint8Array,
): Uint8Array[] {
  switch (name) {
    case "bitflip":
      return [bitflip(seed, rng)];
    case "truncate":
      return [seed.slice(0, rng.int(seed.length + 1))];
    case "length-lie":
      return [lengthLie(seed, rng)];
    case "option-soup":
      return [optionSoup(seed, rng)];
    case "fragment-storm":
      return fragmentStorm(rng, target);
    case "arp-flood":
      return arpFlood(rng, target);
    case "splice": {
      const cut = rng.int(Math.min(seed.length, other.length) + 1);
      const out = new Uint8Array(cut + other.length - Math.min(cut, other.length));
      out.set(seed.subarray(0, cut));
      out.set(other.subarray(cut), cut);
      return [out];
    }
    default: {
      const never: never = name;
      throw new Error(`unknown mutator ${never}`);
    }
  }
}

function bitflip(seed: Uint8Array, rng: Rng): Uint8Array {
  const f = seed.slice();
  if (f.length === 0) return f;
  const n = rng.range(1, 8);
  for (let i = 0; i < n; i++) {
    // Bias towards the headers, where the interesting bits are.
    const at = rng.chance(0.8) ? rng.int(Math.min(f.length, 74)) : rng.int(f.length);
    f[at] ^= 1 << rng.int(8);
  }
  return f;
}

function ethertype(f: Uint8Array): number {
  return f.length >= ETH ? (f[12] << 8) | f[13] : -1;
}

function lie16(rng: Rng, honest: number): number {
  return rng.pick([
    0,
    1,
    7,
    8,
    19,
    20,
    21,
    honest - 1,
    honest + 1,
    honest + 8,
    0xffff,
    rng.int(65536),
  ]) & 0xffff;
}

function put16(f: Uint8Array, at: number, v: number) {
  if (at + 1 < f.length) {
    f[at] = (v >>> 8) & 255;
    f[at + 1] = v & 255;
  }
}

function lengthLie(seed: Uint8Array, rng: Rng): Uint8Array {
  const f = seed.slice();
  const et = ethertype(f);
  if (et === ETHERTYPE_IPV6 && f.length >= ETH + 40) {
    put16(f, ETH + 4, lie16(rng, f.length - ETH - 40));
    return f;
  }
  if (et !== ETHERTYPE_IPV4 || f.length < ETH + 20) return bitflip(f, rng);
  const ihl = (f[ETH] & 15) * 4;
  const l4 = ETH + ihl;
  switch (rng.int(4)) {
    case 0:
      put16(f, ETH + 2, lie16(rng, f.length - ETH));
      break;
    case 1:
      f[ETH] = (f[ETH] & 0xf0) | rng.int(16);
      break;
    case 2:
      if (f[ETH + 9] === PROTO_UDP) put16(f, l4 + 4, lie16(rng, f.length - l4));
      else f[ETH] = (f[ETH] & 0xf0) | rng.int(16);
      break;
    default:
      if (f[ETH + 9] === PROTO_TCP && l4 + 12 < f.length) {
        f[l4 + 12] = (rng.int(16) << 4) | (f[l4 + 12] & 15);
      } else put16(f, ETH + 2, lie16(rng, f.length - ETH));
  }
  return f;
}

/** Random option bytes: real kinds with honest or lying lengths, padding, garbage. */
function soup(rng: Rng, kinds: readonly number[], max: number): Uint8Array {
  const out: number[] = [];
  while (out.length < max && !rng.chance(0.15)) {
    const k = rng.chance(0.85) ? rng.pick(kinds) : rng.int(256);
    out.push(k);
    if (k === 0 || k === 1) continue;
    const len = rng.chance(0.7) ? rng.pick([2, 3, 4, 6, 8, 10, 11, 40]) : rng.int(256);
    out.push(len);
    for (let i = 2; i < len && out.length < max + 4; i++) out.push(rng.int(256));
  }
  const padded = Math.min(max, (out.length + 3) & ~3);
  const b = new Uint8Array(padded);
  b.set(out.slice(0, padded));
  return b;
}

const IPV4_OPTION_KINDS = [0, 1, 7, 68, 130, 131, 133, 136, 137, 148] as const;
const TCP_OPTION_KINDS = [0, 1, 2, 3, 4, 5, 8, 19, 28, 29, 30, 34, 254] as const;
const IPV6_EXT = [0, 43, 44, 50, 51, 60, 135, 139, 140] as const;

function optionSoup(seed: Uint8Array, rng: Rng): Uint8Array {
  const et = ethertype(seed);
  if (et === ETHERTYPE_IPV6 || (et !== ETHERTYPE_IPV4 && rng.chance(0.5))) {
    return ipv6Soup(seed, rng);
  }
  if (et !== ETHERTYPE_IPV4 || seed.length < ETH + 20) return bitflip(seed, rng);
  const ihl = (seed[ETH] & 15) * 4;
  if (ihl < 20 || ETH + ihl > seed.length) return bitflip(seed, rng);
  const payload = seed.subarray(ETH + ihl);
  const proto = seed[ETH + 9];
  if (proto === PROTO_TCP && payload.length >= 20 && rng.chance(0.5)) {
    const doff = (payload[12] >> 4) * 4;
    if (doff < 20 || doff > payload.length) return bitflip(seed, rng);
    const opts = soup(rng, TCP_OPTION_KINDS, 40);
    const tcp = new Uint8Array(20 + opts.length + payload.length - doff);
    tcp.set(payload.subarray(0, 20));
    tcp.set(opts, 20);
    tcp.set(payload.subarray(doff), 20 + opts.length);
    tcp[12] = (((20 + opts.length) / 4) << 4) | (tcp[12] & 15);
    return rebuildIpv4(seed, seed.subarray(ETH, ETH + ihl), tcp);
  }
  const opts = soup(rng, IPV4_OPTION_KINDS, 40);
  const hdr = new Uint8Array(20 + opts.length);
  hdr.set(seed.subarray(ETH, ETH + 20));
  hdr.set(opts, 20);
  hdr[0] = 0x40 | (hdr.length / 4);
  return rebuildIpv4(seed, hdr, payload);
}

function rebuildIpv4(seed: Uint8Array, hdr: Uint8Array, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH + hdr.length + payload.length);
  f.set(seed.subarray(0, ETH));
  f.set(hdr, ETH);
  f.set(payload, ETH + hdr.length);
  f[ETH] = 0x40 | (hdr.length / 4);
  put16(f, ETH + 2, Math.min(0xffff, hdr.length + payload.length));
  return f;
}

/** An IPv6 packet with a chain of extension headers (lengths sometimes lying). */
function ipv6Soup(seed: Uint8Array, rng: Rng): Uint8Array {
  const chain: number[] = [];
  const n = rng.range(1, 8);
  const kinds: number[] = [];
  for (let i = 0; i < n; i++) kinds.push(rng.pick(IPV6_EXT));
  const last = rng.pick([6, 17, 58, 59, rng.int(256)]);
  for (let i = 0; i < n; i++) {
    const next = i + 1 < n ? kinds[i + 1] : last;
    const units = kinds[i] === 44 ? 0 : rng.int(3);
    chain.push(next, rng.chance(0.9) ? units : rng.int(256));
    const body = kinds[i] === 44 ? 6 : 6 + units * 8;
    for (let j = 0; j < body; j++) chain.push(rng.chance(0.5) ? 0 : rng.int(256));
  }
  const tail = seed.subarray(Math.min(seed.length, ETH + 40));
  const f = new Uint8Array(ETH + 40 + chain.length + Math.min(tail.length, 64));
  f.set(seed.subarray(0, Math.min(12, seed.length)));
  f[12] = 0x86;
  f[13] = 0xdd;
  f[ETH] = 0x60;
  put16(f, ETH + 4, rng.chance(0.8) ? f.length - ETH - 40 : rng.int(65536));
  f[ETH + 6] = kinds[0];
  f[ETH + 7] = 64;
  f[ETH + 8] = 0xfe;
  f[ETH + 9] = 0x80;
  f.set(rng.bytes(14), ETH + 10);
  f[ETH + 24] = 0xfe;
  f[ETH + 25] = 0x80;
  f.set(rng.bytes(14), ETH + 26);
  f.set(chain, ETH + 40);
  f.set(tail.subarray(0, f.length - ETH - 40 - chain.length), ETH + 40 + chain.length);
  return f;
}

/** Build an IPv4 frame (header checksum left for `readdress`). */
function ipv4Frame(
  rng: Rng,
  target: FuzzTarget,
  fields: { proto: number; ident: number; flagsOff: number; src: number; payload: Uint8Array },
): Uint8Array {
  const f = new Uint8Array(ETH + 20 + fields.payload.length);
  f.set(target.mac, 0);
  f.set([2, 0xfe, 0, 0, 0, rng.int(256)], 6);
  f[12] = 0x08;
  f[13] = 0x00;
  f[ETH] = 0x45;
  put16(f, ETH + 2, 20 + fields.payload.length);
  put16(f, ETH + 4, fields.ident);
  put16(f, ETH + 6, fields.flagsOff);
  f[ETH + 8] = 64;
  f[ETH + 9] = fields.proto;
  new DataView(f.buffer).setUint32(ETH + 12, fields.src);
  new DataView(f.buffer).setUint32(ETH + 16, target.ip);
  f.set(fields.payload, ETH + 20);
  return f;
}

/** Many fragments of one datagram id: overlapping, duplicated, past the end, out of range. */
function fragmentStorm(rng: Rng, target: FuzzTarget): Uint8Array[] {
  const ident = rng.int(65536);
  const proto = rng.pick([PROTO_UDP, PROTO_TCP, PROTO_ICMP, 200]);
  const src = rng.chance(0.5) ? target.peerIp : ((10 << 24) | rng.int(1 << 24)) >>> 0;
  const frames: Uint8Array[] = [];
  const n = rng.range(2, 64);
  for (let i = 0; i < n; i++) {
    const unit = rng.chance(0.8) ? rng.range(0, 200) : rng.int(8192);
    const more = rng.chance(0.7) ? 0x2000 : 0;
    const len = rng.chance(0.9) ? rng.range(1, 184) * 8 : rng.range(0, 1480);
    frames.push(
      ipv4Frame(rng, target, {
        proto,
        ident,
        flagsOff: more | unit | (rng.chance(0.05) ? 0x8000 : 0),
        src,
        payload: rng.bytes(len),
      }),
    );
  }
  return frames;
}

/** ARP requests and replies from random senders, some addressed to the host, some not. */
function arpFlood(rng: Rng, target: FuzzTarget): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const n = rng.range(1, 128);
  for (let i = 0; i < n; i++) {
    const f = new Uint8Array(ETH + 28);
    const mac = rng.bytes(6);
    mac[0] &= 0xfe;
    f.set(rng.chance(0.5) ? [255, 255, 255, 255, 255, 255] : target.mac, 0);
    f.set(mac, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    const a = ETH;
    put16(f, a, rng.chance(0.95) ? 1 : rng.int(65536));
    put16(f, a + 2, rng.chance(0.95) ? 0x0800 : rng.int(65536));
    f[a + 4] = rng.chance(0.95) ? 6 : rng.int(256);
    f[a + 5] = rng.chance(0.95) ? 4 : rng.int(256);
    put16(f, a + 6, rng.chance(0.9) ? rng.range(1, 2) : rng.int(65536));
    f.set(mac, a + 8);
    const sender = rng.chance(0.6) ? ((target.ip & 0xffffff00) | rng.int(256)) >>> 0 : rng.u32();
    new DataView(f.buffer).setUint32(a + 14, sender);
    new DataView(f.buffer).setUint32(a + 24, rng.chance(0.7) ? target.ip : rng.u32());
    frames.push(f);
  }
  return frames;
}

/**
 * Point `frame` at the target: Ethernet destination (unicast, sometimes broadcast), IPv4
 * destination; then (when `fix`) repair the IPv4 header and TCP/UDP/ICMP checksums; and keep
 * the protected connection and the peer's ARP entry out of reach.
 */
export function readdress(
  frame: Uint8Array,
  rng: Rng,
  target: FuzzTarget,
  fix: boolean,
): Uint8Array {
  const f = frame;
  if (f.length >= 6) f.set(rng.chance(0.95) ? target.mac : [255, 255, 255, 255, 255, 255], 0);
  const et = ethertype(f);
  const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (et === ETHERTYPE_ARP && f.length >= ETH + 28) {
    // A forged sender of the peer's address would (legitimately) poison the peer's entry.
    if (view.getUint32(ETH + 14) === target.peerIp) view.setUint32(ETH + 14, target.peerIp + 100);
    return f;
  }
  if (et !== ETHERTYPE_IPV4 || f.length < ETH + 20) return f;
  if (rng.chance(0.95)) view.setUint32(ETH + 16, target.ip);
  const ihl = (f[ETH] & 15) * 4;
  const total = view.getUint16(ETH + 2);
  const l4 = ETH + ihl;
  const isFirst = (view.getUint16(ETH + 6) & 0x1fff) === 0;
  if (f[ETH + 9] === PROTO_TCP && isFirst && ihl >= 20 && l4 + 4 <= f.length) {
    const sp = view.getUint16(l4), dp = view.getUint16(l4 + 2);
    if (
      view.getUint32(ETH + 12) === target.peerIp && sp === target.protectedPorts[0] &&
      dp === target.protectedPorts[1]
    ) {
      view.setUint16(l4, target.victimPorts[0]);
      view.setUint16(l4 + 2, target.victimPorts[1]);
    }
  }
  if (!fix || ihl < 20 || l4 > f.length) return f;
  if (isFirst && total >= ihl && ETH + total <= f.length) {
    const seg = f.subarray(l4, ETH + total);
    const src = view.getUint32(ETH + 12), dst = view.getUint32(ETH + 16);
    const proto = f[ETH + 9];
    const at = proto === PROTO_TCP ? 16 : proto === PROTO_UDP ? 6 : proto === PROTO_ICMP ? 2 : -1;
    if (at >= 0 && seg.length >= at + 2) {
      seg[at] = 0;
      seg[at + 1] = 0;
      const pseudo = proto === PROTO_ICMP ? 0 : pseudoHeaderSum4(src, dst, proto, seg.length);
      let c = checksum(seg, pseudo);
      if (proto === PROTO_UDP && c === 0) c = 0xffff;
      put16(seg, at, c);
    }
  }
  f[ETH + 10] = 0;
  f[ETH + 11] = 0;
  put16(f, ETH + 10, checksum(f.subarray(ETH, l4)));
  return f;
}
