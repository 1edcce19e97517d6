/**
 * What raw IPv4 and IPv6 sockets share: a bounded receive queue of whole messages, blocking
 * receive with SO_RCVTIMEO and MSG_DONTWAIT, readiness, and release. The subclasses decide what
 * a message is (with or without the IP header) and how it is sent.
 */
import * as abi from "../../kernel/abi.ts";
import type { RecvResult } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import { PacketQueue, type QueuedPacket } from "./packet_queue.ts";
import { InetSocket, type WaitCtx } from "./socket.ts";

/** Most messages queued on one raw socket. */
export const RAW_QUEUE_LIMIT = 256;

/** The common part of raw sockets. */
export abstract class RawBase extends InetSocket {
  #rq = new PacketQueue();
  /** Messages dropped because the receive queue was full. */
  drops = 0;

  /** Queue a received message, or drop it and count `dropKey` when the queue is full. */
  protected enqueue(packet: QueuedPacket, dropKey: string): void {
    if (this.account?.over) dropKey = "raw: over memory budget"; // memory_ledger.ts
    if (
      this.account?.over ||
      !this.#rq.push(packet, { bytes: this.opts.rcvbuf, count: RAW_QUEUE_LIMIT })
    ) {
      this.drops++;
      this.stack.count(dropKey);
      return;
    }
    this.wq.wake();
  }

  async recvmsg(len: number, flags: number, ctx: WaitCtx): Promise<RecvResult> {
    const deadline = this.recvDeadline();
    for (;;) {
      const r = this.#rq.take(len, flags, this.opts.timestamp);
      if (r) return r;
      if (this.closed) throw new ErrnoError("EBADF", "Cannot receive");
      if (this.nonblock || (flags & abi.MSG_DONTWAIT)) {
        throw new ErrnoError("EAGAIN", "Cannot receive");
      }
      await this.sleep(deadline, ctx, "Cannot receive");
    }
  }

  shutdown(): void {
    this.wq.wake();
  }

  readiness(): number {
    return abi.POLLOUT | (this.#rq.length ? abi.POLLIN : 0) | (this.soError ? abi.POLLERR : 0);
  }

  override queues() {
    return { recvQ: this.#rq.bytes, sendQ: 0 };
  }

  release(): void {
    this.closed = true;
    this.#rq.clear();
    this.wq.wake();
  }
}
