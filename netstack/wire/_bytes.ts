/** Big-endian reads and writes of 16- and 32-bit fields, shared by every wire format. */

/** The unsigned 16-bit big-endian value at `i`. */
export function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

/** The unsigned 32-bit big-endian value at `i`. */
export function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Write `v` as 16 bits big-endian at `i`. */
export function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

/** Write `v` as 32 bits big-endian at `i`. */
export function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}
