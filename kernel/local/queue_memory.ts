/**
 * What a message queued in an AF_LOCAL socket costs, and who pays for it. A queued message is
 * charged at the memory it keeps alive, against the receiving socket's buffer and against the
 * sending process's kernel memory budget, until it is read or dropped. Linux does the same: a
 * unix socket's queued skb is charged to its sender (`sk_wmem_alloc`, at its `truesize`, data
 * plus overhead) until the receiver frees it.
 */

/** Who pays for kernel memory: a Process, in practice (ENOBUFS beyond its budget). */
export interface MemoryAccount {
  /** Take `bytes`, or throw ENOBUFS and take nothing. */
  charge(bytes: number, what?: string): void;
  /** Give back bytes taken by {@link charge}. */
  uncharge(bytes: number): void;
}

/**
 * Bytes charged for each queued message beyond the data it keeps: its record, the credentials
 * and the typed-array headers. Like the skb overhead in Linux's truesize, it stops a stream of
 * one-byte sends from queueing hundreds of thousands of records in a 208 KiB buffer.
 */
export const LOCAL_MESSAGE_OVERHEAD = 256;

/**
 * Most a message's buffer may exceed its own bytes and still be kept as it is (a view into a
 * buffer only slightly larger, such as the decoded bus message it arrived in).
 */
const SLACK = 4096;

/**
 * The bytes a queued message should keep: `data` itself when its buffer holds little else, or a
 * copy of just its bytes when it is a small view into a big buffer (a 2 KiB chunk of a 16 MiB
 * send would otherwise keep all 16 MiB alive) or into shared memory (which its sender could
 * still rewrite). Copying costs only the view's own bytes, less than charging the whole buffer
 * would cost the sender's budget and the receiver's room.
 */
export function ownBytes(data: Uint8Array): Uint8Array {
  const buf = data.buffer;
  if (buf instanceof SharedArrayBuffer || buf.byteLength > data.byteLength * 2 + SLACK) {
    return data.slice();
  }
  return data;
}

/** What a queued message of `data` (as {@link ownBytes} returned it) is charged. */
export function retainedSize(data: Uint8Array): number {
  return data.buffer.byteLength + LOCAL_MESSAGE_OVERHEAD;
}
