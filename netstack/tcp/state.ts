/** Connection state names and the TCP_INFO record. */

/** The eleven RFC 9293 §3.3.2 states. */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT";

/** Statistics of one connection, the source for TCP_INFO (times in ms, sizes in bytes). */
export interface TcpInfo {
  state: TcpState;
  srtt: number;
  rttvar: number;
  rto: number;
  cwnd: number;
  ssthresh: number;
  sndMss: number;
  rcvMss: number;
  sndWnd: number;
  rcvWnd: number;
  /** Bytes sent and not yet acknowledged (SND.MAX - SND.UNA). */
  unacked: number;
  inRecovery: boolean;
  /** Current RTO backoff exponent. */
  backoff: number;
  /** Segments retransmitted (all causes). */
  retransmits: number;
  bytesSent: number;
  bytesReceived: number;
  bytesAcked: number;
  segsIn: number;
  segsOut: number;
}
