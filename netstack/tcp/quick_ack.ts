/**
 * Quick-ack and ping-pong mode of the receiver's ACK policy, as Linux's tcp_event_data_recv,
 * tcp_incr_quickack, tcp_dec_quickack_mode and tcp_event_data_sent. RFC 5681 §4.2 and RFC 1122
 * §4.2.3.2 allow delaying an ACK; Linux does not at the start of a connection (nor after an
 * idle gap longer than the RTO), so the sender's slow start is not held back: the first
 * segments are each ACKed at once. A connection that answers data with data within the
 * delayed-ACK time is interactive ("ping-pong") and delays its ACKs so they ride on the reply.
 */

/** Most segments ACKed at once after the first data or an idle gap (TCP_MAX_QUICKACKS). */
export const MAX_QUICK_ACKS = 16;

/** The quick-ack budget and ping-pong flag of one connection. */
export class QuickAck {
  /** ACKs left to send at once (Linux's icsk_ack.quick). */
  quick = 0;
  /** Interactive: data was sent soon after data arrived (Linux's pingpong mode). */
  pingpong = false;
  #lastDataAt: number | undefined;

  /**
   * In-order data arrived at `now`: returns true if it must be ACKed at once. `window` is the
   * receive window offered and `rcvMss` the peer's segment size as estimated (the budget is
   * window / (2 * rcvMss), at least 2, at most {@link MAX_QUICK_ACKS}).
   */
  dataReceived(now: number, rto: number, window: number, rcvMss: number): boolean {
    const gap = this.#lastDataAt === undefined ? Infinity : now - this.#lastDataAt;
    if (gap > rto) {
      const budget = Math.min(MAX_QUICK_ACKS, Math.max(2, Math.floor(window / (2 * rcvMss))));
      this.quick = Math.max(this.quick, budget);
    }
    this.#lastDataAt = now;
    return this.quick > 0 && !this.pingpong;
  }

  /** New data went out at `now`: within `ato` ms of data arriving, the exchange is ping-pong. */
  dataSent(now: number, ato: number): void {
    if (this.#lastDataAt !== undefined && now - this.#lastDataAt < ato) this.pingpong = true;
  }

  /** An ACK of received data went out: one fewer quick ACK left. */
  ackSent(): void {
    if (this.quick > 0) this.quick--;
  }

  /** The delayed-ACK timer fired: a delayed ACK was missed, so leave ping-pong mode. */
  delayedAckFired(): void {
    this.pingpong = false;
  }
}
