/**
 * The socket face of TCP urgent data (the state machine is tcp/urgent.ts): `send(MSG_OOB)`,
 * `recv(MSG_OOB)` with Linux's errors, POLLPRI, and the receive pump stopping at the mark.
 * TcpSocket calls these hooks; SO_OOBINLINE is a common socket option (socket.ts) that
 * reaches the connection as `options.oobInline`.
 */

import * as abi from "../../kernel/abi.ts";
import type { RecvResult } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { TcpConnection } from "../tcp/mod.ts";

/**
 * `sent` more bytes of a send with `flags` were queued, before they are pushed: MSG_OOB makes
 * everything queued so far urgent (Linux's tcp_push → tcp_mark_urg).
 */
export function afterUrgentSend(c: TcpConnection, flags: number, sent: number): void {
  if (flags & abi.MSG_OOB && sent > 0) c.markUrgent();
}

/**
 * `recv(MSG_OOB)` on a connected TCP socket, as Linux's tcp_recv_urg; it never blocks. EINVAL
 * when there is no urgent byte, it was read, or SO_OOBINLINE keeps it in the stream; ENOTCONN
 * once the connection failed; else the byte with MSG_OOB set (a `len` of 0 takes it too, and
 * says MSG_TRUNC); end of stream after the FIN; EAGAIN while the byte has not arrived.
 */
export function recvUrgent(c: TcpConnection, len: number, flags: number): RecvResult {
  const r = c.recvUrgent(true);
  if (r === "EINVAL") throw new ErrnoError("EINVAL", "Cannot receive out-of-band data");
  if (c.state === "CLOSED" && c.error) {
    throw new ErrnoError("ENOTCONN", "Cannot receive out-of-band data");
  }
  if (typeof r === "number") {
    if (!(flags & abi.MSG_PEEK)) c.recvUrgent(false);
    if (len <= 0) return { data: new Uint8Array(0), flags: abi.MSG_OOB | abi.MSG_TRUNC };
    return { data: Uint8Array.of(r), flags: abi.MSG_OOB };
  }
  if (c.eof || c.state === "CLOSED") return { data: new Uint8Array(0), flags: 0 };
  throw new ErrnoError("EAGAIN", "Cannot receive out-of-band data: not arrived yet");
}

/** POLLPRI while an urgent byte waits to be read (Linux's tcp_poll). */
export function urgentReadiness(c: TcpConnection): number {
  return c.urgentPending ? abi.POLLPRI : 0;
}

/**
 * Whether moving received bytes on must stop here, at the urgent mark: the pump that fills a
 * reader's shared ring (the reader's next read by message passes it), and a MSG_WAITALL read
 * that took something (Linux's tcp_recvmsg breaks at the mark once it copied anything).
 */
export function pumpStopsAtMark(c: TcpConnection): boolean {
  return c.atUrgentMark;
}
