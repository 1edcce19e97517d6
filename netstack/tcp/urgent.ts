/**
 * TCP urgent data (RFC 9293 §3.8.5, MUST-30/31; RFC 6093), as Linux does it. Only the byte
 * just before the urgent pointer is "out of band"; everything else, urgent or not, stays in the
 * stream.
 *
 * Sending (Linux's tcp_mark_urg and tcp_transmit_skb): `send(MSG_OOB)` sets SND.UP to the
 * sequence number just past the data queued so far, and every segment that starts before
 * SND.UP carries URG with the pointer SND.UP - SEG.SEQ (the RFC 6093 / BSD convention: the
 * pointer names the byte after the urgent one), until SND.UNA passes SND.UP.
 *
 * Receiving (Linux's tcp_check_urg, tcp_urg, tcp_recvmsg and tcp_recv_urg): the OOB byte is at
 * SEG.SEQ + pointer - 1 (pointer 0: SEG.SEQ); only the latest pointer counts. It is captured
 * from whichever segment carries it. Reads stop just before it; without SO_OOBINLINE the byte
 * is taken out of the stream and `recv(MSG_OOB)` returns it once.
 */

import { seqAdd, seqGe, seqGt, seqLt, seqSub } from "./seqnum.ts";

/** Linux's TCP_URG_NOTYET / TCP_URG_VALID / TCP_URG_READ, and no urgent data at all. */
export type UrgentState = "none" | "notyet" | "valid" | "read";

/** The send side: SND.UP and the URG field of outgoing segments. */
export class UrgentSend {
  /** SND.UP while in urgent mode (SND.UNA has not passed it), else undefined. */
  up: number | undefined;

  /** `send(MSG_OOB)` queued data ending just before `writeSeq` (Linux's tcp_mark_urg). */
  mark(writeSeq: number): void {
    this.up = writeSeq >>> 0;
  }

  /** SND.UNA moved to `una`: urgent mode ends once everything up to SND.UP is acknowledged. */
  acked(una: number): void {
    if (this.up !== undefined && seqGe(una, this.up)) this.up = undefined;
  }

  /**
   * The urgent pointer a segment starting at `seq` carries, or undefined for none (Linux's
   * tcp_transmit_skb): SND.UP - SEG.SEQ when it fits in 16 bits; 0xffff while SND.UP is further
   * than that, as long as the segment lies within 64 KiB of SND.NXT.
   */
  pointerFor(seq: number, sndNxt: number): number | undefined {
    const up = this.up;
    if (up === undefined || !seqLt(seq, up)) return undefined;
    if (seqLt(up, seqAdd(seq, 0x10000))) return seqSub(up, seq);
    if (seqGt(seqAdd(seq, 0xffff), sndNxt)) return 0xffff;
    return undefined;
  }
}

/** Why `recv(MSG_OOB)` cannot return a byte (Linux's tcp_recv_urg). */
export type UrgentReadError = "EINVAL" | "EAGAIN";

/** The receive side: the latest urgent pointer, its byte, and where reads must stop. */
export class UrgentReceive {
  /** Where the urgent data stands. */
  state: UrgentState = "none";
  /** Sequence number of the OOB byte (Linux's urg_seq), valid unless state is "none". */
  seq = 0;
  /** The OOB byte, once captured. */
  byte = 0;
  /** The byte was taken out of the stream (no SO_OOBINLINE); the reader is just before it. */
  skipped = false;
  /** Urgent pointers accepted (Linux's SIGURG count). */
  signals = 0;

  /**
   * A segment with URG passed the acceptance tests (Linux's tcp_check_urg). `copied`: the next
   * byte the reader will see; `rcvNxt`: RCV.NXT before this segment's data. Returns true when
   * the pointer is new; the caller then must stop handing bytes from `seq` on to a sink.
   */
  check(segSeq: number, pointer: number, copied: number, rcvNxt: number): boolean {
    const ptr = seqAdd(segSeq, pointer > 0 ? pointer - 1 : 0);
    if (seqGt(copied, ptr)) return false; // already seen and read
    if (seqLt(ptr, rcvNxt)) return false; // pointing into data already received: no replay
    if (this.state !== "none" && !seqGt(ptr, this.seq)) return false; // not newer
    this.signals++;
    this.state = "notyet";
    this.seq = ptr;
    this.skipped = false;
    return true;
  }

  /** Capture the OOB byte if `payload` (starting at `seq`) carries it (Linux's tcp_urg). */
  capture(seq: number, payload: Uint8Array): void {
    if (this.state !== "notyet") return;
    const off = seqSub(this.seq, seq);
    if (off >= 0 && off < payload.length) {
      this.byte = payload[off];
      this.state = "valid";
    }
  }

  /** Bytes a read starting at `copied` may take before it reaches the mark (Infinity: any). */
  readLimit(copied: number): number {
    if (this.state === "none" || this.skipped || !seqGt(this.seq, copied)) return Infinity;
    return seqSub(this.seq, copied);
  }

  /** Whether the reader stands just before the OOB byte (SIOCATMARK). */
  atMark(copied: number): boolean {
    return this.state !== "none" && (this.skipped || this.seq === copied);
  }

  /**
   * A normal read is about to start at `copied`: having stood at a mark it now passes it, and
   * the urgent data is forgotten (Linux clears urg_data once copied_seq is past urg_seq).
   */
  passMark(copied: number, inline: boolean): void {
    if (this.state === "none") return;
    if (this.skipped || (inline ? seqGt(copied, this.seq) : seqGe(copied, seqAdd(this.seq, 1)))) {
      this.clear();
    }
  }

  /** Whether the byte at `copied` (the head of the read queue) is the OOB byte to take out. */
  takesOut(copied: number, inline: boolean): boolean {
    return !inline && this.state !== "none" && !this.skipped && this.seq === copied;
  }

  /** `recv(MSG_OOB)` (Linux's tcp_recv_urg): the byte, or why not; `peek` leaves it there. */
  read(inline: boolean, peek: boolean): number | UrgentReadError {
    if (inline || this.state === "none" || this.state === "read") return "EINVAL";
    if (this.state !== "valid") return "EAGAIN";
    if (!peek) this.state = "read";
    return this.byte;
  }

  /** Forget the urgent data. */
  clear(): void {
    this.state = "none";
    this.skipped = false;
  }
}
