/**
 * Copying bytes to or from shared memory at full speed. V8 copies into or out of a
 * SharedArrayBuffer word by word, and byte by byte when the two addresses do not line up on
 * 8 bytes: about 4 GB/s instead of 30 on this machine. A copy whose ends do not line up goes
 * through a private buffer placed so that the shared side's copy lines up (private-to-private
 * copies are fast at any alignment), which costs one more fast copy.
 */

/** Shorter copies go straight (the detour costs more than it saves). */
const DIRECT_BELOW = 256;
let scratch = new Uint8Array(1 << 16);

/** Copy `src` into `dst` (which must be at least as long), fast whichever side is shared. */
export function copyBytes(dst: Uint8Array, src: Uint8Array): void {
  const n = src.length;
  const toShared = dst.buffer instanceof SharedArrayBuffer;
  const fromShared = src.buffer instanceof SharedArrayBuffer;
  if (
    n < DIRECT_BELOW || toShared === fromShared || ((dst.byteOffset - src.byteOffset) & 7) === 0
  ) {
    dst.set(src);
    return;
  }
  if (scratch.length < n + 8) scratch = new Uint8Array(Math.max(n + 8, scratch.length * 2));
  const at = (toShared ? dst.byteOffset : src.byteOffset) & 7; // lines up with the shared side
  const mid = scratch.subarray(at, at + n);
  mid.set(src);
  dst.set(mid);
}
