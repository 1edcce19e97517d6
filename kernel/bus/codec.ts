/**
 * CBOR encoding of bus messages (cbor-x, imported as `cbor-x/encode` because plain `cbor-x`
 * reads the environment at load and fails in a permission-less worker).
 */
import { decode, encode } from "cbor-x/encode";

/** Encode a message to a fresh, transferable ArrayBuffer (cbor-x returns views into a pool). */
export function encodeMessage(msg: unknown): ArrayBuffer {
  const view = encode(msg) as Uint8Array;
  const out = new Uint8Array(view.length);
  out.set(view);
  return out.buffer;
}

/**
 * Decode a message. Throws on malformed CBOR; callers treat that as a hostile or broken peer.
 * Byte strings in the result are views into `bytes`; unless the caller `owns` `bytes` (a buffer
 * transferred to it, nobody else writes it) they are copied out before returning.
 */
export function decodeMessage(bytes: ArrayBuffer | Uint8Array, owned = false): unknown {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const msg = decode(u8);
  return owned ? msg : detach(msg);
}

function detach(v: unknown): unknown {
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = detach(v[i]);
    return v;
  }
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const k in o) o[k] = detach(o[k]);
  }
  return v;
}
