/**
 * Serin's TCP: an I/O-free connection state machine (RFC 9293 with RFC 5681, 6298, 7323, 2018,
 * 6582, 6675, 5961, 6528, 1122), a listener with a bounded accept queue, and the helpers the
 * socket layer and network task need.
 */

export { TcpConnection } from "./connection.ts";
export type { TcpConnectionInit, TcpErrno } from "./connection.ts";
export {
  type AcceptedConnection,
  type SynCookieStats,
  TcpListener,
  type TcpListenerInit,
  type TcpPeer,
} from "./listener.ts";
export { IsnGenerator } from "./isn.ts";
export { COOKIE_MSS_TABLE, COOKIE_MSS_TABLE6, SynCookies } from "./syn_cookie.ts";
export {
  DEFAULT_TCP_OPTIONS,
  type KeepaliveOptions,
  type TcpConnectionOptions,
  windowShiftFor,
} from "./options.ts";
export { resetReplyFor } from "./reset.ts";
export { DEFAULT_MAX_TIME_WAIT, TimeWaitBuckets } from "./time_wait.ts";
export type { TcpInfo, TcpState } from "./state.ts";
export { inWindow, seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from "./seqnum.ts";
