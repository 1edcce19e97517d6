/**
 * TCP segments as the scenario scripts see them: raw TCP bytes ↔ a {@link Segment} whose options
 * keep their order on the wire (so a report prints what was sent), the script-syntax formatter,
 * and the matching rule of an expected `>` line against an actual segment. Pure functions.
 */
import { checksum } from "../../netstack/wire/checksum.ts";
import { FLAG_LETTERS, type OptSpec, type SegSpec } from "./script.ts";

/** A concrete segment: absolute or relative sequence numbers, depending on who holds it. */
export interface Segment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg: number;
  options: OptSpec[];
  payload: Uint8Array;
}

const ACK = 0x10;
const URG = 0x20;
const PSH = 0x08;

/** TCP option bytes in the order given (no padding added: write `nop`s as the script does). */
export function encodeOptions(opts: readonly OptSpec[]): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push((n >>> 8) & 0xff, n & 0xff);
  const u32 = (n: number) => (u16(n >>> 16), u16(n & 0xffff));
  for (const o of opts) {
    switch (o.kind) {
      case "nop":
        out.push(1);
        break;
      case "eol":
        out.push(0);
        break;
      case "mss":
        out.push(2, 4), u16(o.value ?? 1460);
        break;
      case "wscale":
        out.push(3, 3, o.value ?? 7);
        break;
      case "sackOK":
        out.push(4, 2);
        break;
      case "sack":
        out.push(5, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) u32(l), u32(r);
        break;
      case "TS":
        out.push(8, 10), u32(o.val ?? 0), u32(o.ecr ?? 0);
        break;
      case "unknown":
        out.push(o.code, 2 + o.data.length, ...o.data);
        break;
    }
  }
  return Uint8Array.from(out);
}

/** The options of a TCP header in wire order; a malformed tail becomes one `unknown` entry. */
export function decodeOptions(b: Uint8Array): OptSpec[] {
  const out: OptSpec[] = [];
  const u16 = (i: number) => (b[i] << 8) | b[i + 1];
  const u32 = (i: number) => ((u16(i) << 16) | u16(i + 2)) >>> 0;
  let i = 0;
  while (i < b.length) {
    const kind = b[i];
    if (kind === 0) {
      out.push({ kind: "eol" });
      break;
    }
    if (kind === 1) {
      out.push({ kind: "nop" }), i++;
      continue;
    }
    const len = b[i + 1];
    if (len === undefined || len < 2 || i + len > b.length) {
      out.push({ kind: "unknown", code: kind, data: b.slice(i + 1) });
      break;
    }
    if (kind === 2 && len === 4) out.push({ kind: "mss", value: u16(i + 2) });
    else if (kind === 3 && len === 3) out.push({ kind: "wscale", value: b[i + 2] });
    else if (kind === 4 && len === 2) out.push({ kind: "sackOK" });
    else if (kind === 8 && len === 10) out.push({ kind: "TS", val: u32(i + 2), ecr: u32(i + 6) });
    else if (kind === 5 && (len - 2) % 8 === 0) {
      const blocks: Array<[number, number]> = [];
      for (let j = i + 2; j < i + len; j += 8) blocks.push([u32(j), u32(j + 4)]);
      out.push({ kind: "sack", blocks });
    } else out.push({ kind: "unknown", code: kind, data: b.slice(i + 2, i + len) });
    i += len;
  }
  return out;
}

/** TCP header + options + payload, checksummed with the pseudo-header sum for its length. */
export function encodeSegment(s: Segment, pseudoSum: (length: number) => number): Uint8Array {
  const opts = encodeOptions(s.options);
  const optLen = (opts.length + 3) & ~3;
  const hl = 20 + optLen;
  const b = new Uint8Array(hl + s.payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, s.srcPort);
  v.setUint16(2, s.dstPort);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, s.ack >>> 0);
  b[12] = (hl / 4) << 4;
  b[13] = s.flags;
  v.setUint16(14, s.win);
  v.setUint16(18, s.urg);
  b.set(opts, 20);
  b.set(s.payload, hl);
  v.setUint16(16, checksum(b, pseudoSum(b.length)));
  return b;
}

/** Parse TCP bytes (the whole IP payload); undefined if too short to be a header. */
export function decodeSegment(b: Uint8Array): Segment | undefined {
  if (b.length < 20) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hl = (b[12] >>> 4) * 4;
  if (hl < 20 || hl > b.length) return undefined;
  return {
    srcPort: v.getUint16(0),
    dstPort: v.getUint16(2),
    seq: v.getUint32(4),
    ack: v.getUint32(8),
    flags: b[13],
    win: v.getUint16(14),
    urg: v.getUint16(18),
    options: decodeOptions(b.subarray(20, hl)),
    payload: b.subarray(hl),
  };
}

/** Flag bits as script letters (`S.`, `P.`, `F.`, `R`, `.`). */
export function formatFlags(flags: number): string {
  return FLAG_LETTERS.filter(([, bit]) => flags & bit).map(([l]) => l).join("");
}

/** One option list in script syntax (without the angle brackets). */
export function formatOptions(opts: readonly OptSpec[]): string {
  const n = (x: number | undefined) => (x === undefined ? "*" : String(x));
  return opts.map((o) => {
    switch (o.kind) {
      case "nop":
      case "eol":
      case "sackOK":
        return o.kind;
      case "mss":
      case "wscale":
        return `${o.kind} ${n(o.value)}`;
      case "TS":
        return `TS val ${n(o.val)} ecr ${n(o.ecr)}`;
      case "sack":
        return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(" ")}`;
      case "unknown":
        return `opt${o.code}[${o.data.length}]`;
    }
  }).join(",");
}

/** A segment line (without direction) in script syntax: `S. 0:0(0) ack 1 win 65535 <...>`. */
export function formatSegment(s: SegSpec): string {
  const parts = [formatFlags(s.flags) || "-", `${s.seq}:${(s.seq + s.len) >>> 0}(${s.len})`];
  if (s.ack !== undefined && (s.flags & ACK || s.ack !== 0)) parts.push(`ack ${s.ack}`);
  if (s.win !== undefined) parts.push(`win ${s.win}`);
  if (s.urg !== undefined && (s.flags & URG || s.urg !== 0)) parts.push(`urg ${s.urg}`);
  if (s.options === "any") parts.push("<...>");
  else if (s.options !== undefined && s.options.length > 0) {
    parts.push(`<${formatOptions(s.options)}>`);
  }
  return parts.join(" ");
}

/**
 * Why `actual` (relative numbers) does not match the expected line, or undefined when it does.
 * Flags (but PSH: when to push is the sender's choice, RFC 9293 §3.9.1), seq and payload length
 * always count; ack, win and urg when the line gives them.
 * Options, when the line lists them: the same kinds (nop and eol ignored, order ignored), each
 * value the line gives equal (`*` matches any), TS val never compared, SACK blocks exactly.
 */
export function mismatch(want: SegSpec, actual: SegSpec): string | undefined {
  if ((want.flags & ~PSH) !== (actual.flags & ~PSH)) {
    return `flags ${formatFlags(actual.flags)} instead of ${formatFlags(want.flags)}`;
  }
  if (want.seq !== actual.seq) return `seq ${actual.seq} instead of ${want.seq}`;
  if (want.len !== actual.len) return `payload ${actual.len} bytes instead of ${want.len}`;
  if (want.ack !== undefined && want.ack !== actual.ack) {
    return `ack ${actual.ack} instead of ${want.ack}`;
  }
  if (want.win !== undefined && want.win !== actual.win) {
    return `win ${actual.win} instead of ${want.win}`;
  }
  if (want.urg !== undefined && want.urg !== actual.urg) {
    return `urg ${actual.urg} instead of ${want.urg}`;
  }
  if (want.options === undefined || want.options === "any") return undefined;
  return optionsMismatch(want.options, actual.options === "any" ? [] : actual.options ?? []);
}

function optionsMismatch(want: readonly OptSpec[], got: readonly OptSpec[]): string | undefined {
  const real = (l: readonly OptSpec[]) => l.filter((o) => o.kind !== "nop" && o.kind !== "eol");
  const w = real(want);
  const g = real(got);
  for (const o of w) {
    const a = g.find((x) => x.kind === o.kind);
    if (!a) return `option ${o.kind} missing`;
    if ((o.kind === "mss" || o.kind === "wscale") && o.value !== undefined) {
      const av = (a as typeof o).value;
      if (av !== o.value) return `${o.kind} ${av} instead of ${o.value}`;
    }
    if (o.kind === "TS" && o.ecr !== undefined && (a as typeof o).ecr !== o.ecr) {
      return `TS ecr ${(a as typeof o).ecr} instead of ${o.ecr}`;
    }
    if (o.kind === "sack") {
      const ab = (a as typeof o).blocks;
      if (JSON.stringify(ab) !== JSON.stringify(o.blocks)) {
        return `sack ${formatOptions([a])} instead of ${formatOptions([o])}`;
      }
    }
  }
  for (const a of g) {
    if (!w.some((o) => o.kind === a.kind)) return `unexpected option ${formatOptions([a])}`;
  }
  return undefined;
}
