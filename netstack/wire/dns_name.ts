/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4): a sequence of length-prefixed labels ending
 * in the root's empty label, or in a pointer (two bytes 11xxxxxx xxxxxxxx) to a prior occurrence.
 *
 * ```text
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   | 1  1|                OFFSET                   |   a pointer
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   | 0  0|  LENGTH (1-63)  |  LENGTH label octets …    a label
 * ```
 *
 * Names are text with dots between labels and no final dot ("" is the root). A label octet that
 * is a dot, a backslash or not printable ASCII is written `\DDD` (decimal) or `\.` as dig and
 * BIND's master files write it, so every wire name has exactly one text form.
 *
 * Parsing refuses what RFC 1035 does not allow and what would let a hostile packet loop: labels
 * over 63 octets (and the reserved 01/10 label types), names over 255 octets, pointers past the
 * end and pointers that do not point strictly backwards (RFC 1035 §4.1.4: "a prior occurrence"),
 * which rules out loops without counting hops.
 */
import { WireError } from "./errors.ts";

/** Longest name on the wire, length octets included (RFC 1035 §2.3.4). */
export const MAX_NAME_LEN = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_LEN = 63;
/** A compression pointer can only reach offsets below this. */
const MAX_POINTER = 0x3fff;

function fail(detail: string): never {
  throw new WireError("dns", "malformed", detail);
}

/** A name read from a message: its text and the offset just past it where it was read. */
export interface ParsedName {
  name: string;
  end: number;
}

/** Read the name at `offset` of the whole message `msg`, following pointers. */
export function parseName(msg: Uint8Array, offset: number): ParsedName {
  const labels: string[] = [];
  let wireLen = 0;
  let pos = offset;
  let end = -1; // where the name ends in the stream: after its first pointer, or its root label
  let floor = offset; // a pointer must point before the label run it ends
  for (;;) {
    if (pos >= msg.length) throw new WireError("dns", "truncated", `name at ${offset}`);
    const len = msg[pos];
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new WireError("dns", "truncated", `pointer at ${pos}`);
      const target = ((len & 0x3f) << 8) | msg[pos + 1];
      if (end < 0) end = pos + 2;
      if (target >= floor) fail(`pointer at ${pos} to ${target} does not point backwards`);
      pos = floor = target;
      continue;
    }
    if ((len & 0xc0) !== 0) fail(`label type ${len >> 6} at ${pos}`);
    wireLen += len + 1;
    if (wireLen > MAX_NAME_LEN) fail(`name at ${offset} longer than ${MAX_NAME_LEN} octets`);
    if (len === 0) break;
    if (pos + 1 + len > msg.length) throw new WireError("dns", "truncated", `label at ${pos}`);
    labels.push(labelText(msg.subarray(pos + 1, pos + 1 + len)));
    pos += 1 + len;
  }
  return { name: labels.join("."), end: end < 0 ? pos + 1 : end };
}

function labelText(b: Uint8Array): string {
  let s = "";
  for (const c of b) {
    if (c === 0x2e || c === 0x5c) s += "\\" + String.fromCharCode(c);
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += "\\" + String(c).padStart(3, "0");
  }
  return s;
}

/** The labels of a text name as octets (escapes undone); throws for labels or names too long. */
export function nameLabels(name: string): Uint8Array[] {
  const text = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
  if (text === "") return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let total = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2e) {
      labels.push(finish(cur, name));
      total += cur.length + 1;
      cur = [];
    } else if (ch === 0x5c) {
      const dec = /^\d{3}/.exec(text.slice(i + 1));
      if (dec && Number(dec[0]) <= 255) {
        cur.push(Number(dec[0]));
        i += 3;
      } else if (i + 1 < text.length) cur.push(text.charCodeAt(++i));
      else throw new WireError("dns", "malformed", `trailing backslash in ${name}`);
    } else if (ch > 0xff) throw new WireError("dns", "malformed", `non-ASCII name ${name}`);
    else cur.push(ch);
  }
  labels.push(finish(cur, name));
  total += cur.length + 1;
  if (total > MAX_NAME_LEN) throw new WireError("dns", "bad-length", `name too long: ${name}`);
  return labels;
}

function finish(label: number[], name: string): Uint8Array {
  if (label.length === 0) throw new WireError("dns", "malformed", `empty label in ${name}`);
  if (label.length > MAX_LABEL_LEN) {
    throw new WireError("dns", "bad-length", `label over ${MAX_LABEL_LEN} octets in ${name}`);
  }
  return Uint8Array.from(label);
}

/** Names compare without regard to ASCII case (RFC 1035 §2.3.3, RFC 4343). */
export function sameName(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/**
 * Writes names into a growing message, compressing each against the suffixes already written
 * (RFC 1035 §4.1.4) when `compress` is on. Only suffixes of the same case are shared, so every
 * name keeps its case byte for byte (an answer repeats the question's mixed case, RFC 4343 §4.1;
 * the fuzzer found case lost the other way).
 */
export class NameWriter {
  readonly #seen = new Map<string, number>();
  constructor(readonly compress = true) {}

  /** The octets of `name` to append at `offset` of the message. */
  encode(name: string, offset: number, compress = this.compress): Uint8Array {
    const labels = nameLabels(name);
    const out: number[] = [];
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).map((l) => labelText(l)).join(".");
      const at = this.#seen.get(key);
      if (compress && at !== undefined) {
        out.push(0xc0 | (at >> 8), at & 0xff);
        return Uint8Array.from(out);
      }
      if (offset + out.length <= MAX_POINTER) this.#seen.set(key, offset + out.length);
      out.push(labels[i].length, ...labels[i]);
    }
    out.push(0);
    return Uint8Array.from(out);
  }
}
