/**
 * Packet buffers with room in front: a transport builds its segment after 34 spare bytes, the
 * IPv4 layer writes its header into the last 20 of them and the Ethernet header goes into the
 * first 14, so a TCP or UDP packet becomes a frame with no further allocation or copy.
 */

/** Ethernet (14) + IPv4 without options (20). */
export const HEADROOM_IPV4 = 34;
/** Ethernet (14) + IPv6 without extension headers (40). */
export const HEADROOM_IPV6 = 54;

/** Buffers smaller than this are not worth keeping for reuse. */
const RECYCLE_MIN = 16 << 10;
/** Most buffers of one size kept for reuse. */
const RECYCLE_MAX = 8;
/** Bytes at the front of a reused buffer cleared again: every header a packet can have. */
const HEADER_BYTES = 128;
const spare = new Map<number, ArrayBuffer[]>();

/**
 * A `len`-byte view with `headroom` spare bytes before it in the same, exclusive buffer, zeroed
 * (a reused buffer has its header bytes cleared; the rest is overwritten by whoever builds the
 * packet, which writes all of its `len` bytes).
 */
export function allocPacket(len: number, headroom = HEADROOM_IPV4): Uint8Array {
  const size = headroom + len;
  const reused = size >= RECYCLE_MIN ? spare.get(size)?.pop() : undefined;
  if (!reused) return new Uint8Array(size).subarray(headroom);
  const bytes = new Uint8Array(reused);
  bytes.fill(0, 0, Math.min(size, headroom + HEADER_BYTES));
  return bytes.subarray(headroom);
}

/**
 * Give back the buffer of a whole frame nobody holds any more (a loopback TCP segment whose
 * payload was copied out): the next packet of that size is built in it instead of a fresh,
 * zero-filled allocation (a bulk loopback flow otherwise allocates 64 KiB per segment).
 */
export function recyclePacket(frame: Uint8Array): void {
  const buf = frame.buffer;
  if (!(buf instanceof ArrayBuffer) || frame.byteOffset !== 0) return;
  if (frame.byteLength !== buf.byteLength || buf.byteLength < RECYCLE_MIN) return;
  let list = spare.get(buf.byteLength);
  if (!list) spare.set(buf.byteLength, list = []);
  if (list.length < RECYCLE_MAX) list.push(buf);
}

/** `payload` grown `n` bytes to the front when its buffer has that room, else undefined. */
export function growFront(payload: Uint8Array, n: number): Uint8Array | undefined {
  if (payload.byteOffset < n) return undefined;
  return new Uint8Array(payload.buffer, payload.byteOffset - n, payload.length + n);
}
