/**
 * Packet buffers with room in front: a transport builds its segment after 34 spare bytes, the
 * IPv4 layer writes its header into the last 20 of them and the Ethernet header goes into the
 * first 14, so a TCP or UDP packet becomes a frame with no further allocation or copy.
 */

/** Ethernet (14) + IPv4 without options (20). */
export const HEADROOM_IPV4 = 34;
/** Ethernet (14) + IPv6 without extension headers (40). */
export const HEADROOM_IPV6 = 54;

/** A zeroed `len`-byte view with `headroom` spare bytes before it in the same, exclusive buffer. */
export function allocPacket(len: number, headroom = HEADROOM_IPV4): Uint8Array {
  return new Uint8Array(headroom + len).subarray(headroom);
}

/** `payload` grown `n` bytes to the front when its buffer has that room, else undefined. */
export function growFront(payload: Uint8Array, n: number): Uint8Array | undefined {
  if (payload.byteOffset < n) return undefined;
  return new Uint8Array(payload.buffer, payload.byteOffset - n, payload.length + n);
}
