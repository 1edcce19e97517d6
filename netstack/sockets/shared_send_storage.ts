/**
 * A TCP send buffer kept in its holder's shared tx ring (kernel/bus/shared_stream.ts): the
 * process writes the bytes there itself, the connection adopts them, sends segments straight
 * from the ring and frees ring space as ACKs arrive. No copy into a buffer of the netstack's.
 */
import type { SharedStream } from "../../kernel/bus/shared_stream.ts";
import type { SendStorage } from "../tcp/send.ts";

/** SendStorage over a share's tx ring, addressed from the netstack's own tx tail. */
export class SharedSendStorage implements SendStorage {
  /** The memory is the process's (it allocated the share). */
  readonly allocated = 0;

  constructor(readonly stream: SharedStream) {}

  writeAt(offset: number, data: Uint8Array): void {
    this.stream.txPlace(offset, data);
  }

  readAt(offset: number, n: number, out: Uint8Array, at = 0): void {
    this.stream.txReadAt(offset, n, out, at);
  }

  /**
   * The bytes copied out into a private buffer kept for the purpose (valid until the next
   * call): segments are built from it at full copy speed, where copying straight out of the
   * ring into a frame runs byte by byte whenever the two do not line up (see shared_copy.ts).
   */
  viewAt(offset: number, n: number): Uint8Array {
    if (this.#segment.length < n) this.#segment = new Uint8Array(n);
    const view = this.#segment.subarray(0, n);
    this.stream.txReadAt(offset, n, view);
    return view;
  }

  #segment = new Uint8Array(0);

  advance(n: number): void {
    if (n > 0) this.stream.txConsume(n);
  }

  release(): void {}
}
