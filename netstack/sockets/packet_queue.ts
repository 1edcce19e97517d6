/**
 * The receive queue of a datagram or raw socket: packets with their source address and arrival
 * time, bounded by bytes (SO_RCVBUF) and optionally by count, taken whole or truncated
 * (MSG_TRUNC), or peeked (MSG_PEEK).
 */
import { MSG_PEEK, MSG_TRUNC } from "../../kernel/abi.ts";
import type { RecvResult, SockAddr } from "../../kernel/bus/messages.ts";

/** One received packet. */
export interface QueuedPacket {
  data: Uint8Array;
  addr: SockAddr;
  /** Arrival time (ms), reported with SO_TIMESTAMP. */
  at: number;
  /** IPv6 hop limit it arrived with, kept when the socket asked (IPV6_RECVHOPLIMIT). */
  hopLimit?: number;
}

/** Limits of a {@link PacketQueue}. */
export interface QueueLimits {
  /** Most bytes held (SO_RCVBUF). */
  bytes: number;
  /** Most packets held. */
  count?: number;
  /** Always accept one packet into an empty queue, however large (as Linux UDP does). */
  allowOneOversize?: boolean;
}

/** A FIFO of received packets with byte accounting. */
export class PacketQueue {
  #items: QueuedPacket[] = [];
  #bytes = 0;

  /** Packets waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queue `p` unless that would pass `limits`; returns false (drop) when full. */
  push(p: QueuedPacket, limits: QueueLimits): boolean {
    const empty = this.#items.length === 0;
    const overBytes = this.#bytes + p.data.length > limits.bytes &&
      !(empty && limits.allowOneOversize);
    if (overBytes || (limits.count !== undefined && this.#items.length >= limits.count)) {
      return false;
    }
    this.#items.push(p);
    this.#bytes += p.data.length;
    return true;
  }

  /** The recvmsg result for the oldest packet (removed unless MSG_PEEK), or undefined. */
  take(len: number, flags: number, timestamp: boolean): RecvResult | undefined {
    const p = this.#items[0];
    if (!p) return undefined;
    if (!(flags & MSG_PEEK)) {
      this.#items.shift();
      this.#bytes -= p.data.length;
    }
    const n = Math.min(len, p.data.length);
    const r: RecvResult = {
      data: n === p.data.length && !(flags & MSG_PEEK) ? p.data : p.data.slice(0, n),
      addr: p.addr,
      flags: n < p.data.length ? MSG_TRUNC : 0,
    };
    if (timestamp) r.timestamp = p.at;
    if (p.hopLimit !== undefined) r.hopLimit = p.hopLimit;
    return r;
  }

  /** Drop everything. */
  clear(): void {
    this.#items = [];
    this.#bytes = 0;
  }
}
