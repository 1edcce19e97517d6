/**
 * What an ICMP error (other than a path MTU report) does to one connection, as Linux's
 * tcp_v4_err/tcp_v6_err: believed only when the quoted sequence number is in [SND.UNA, SND.NXT]
 * (RFC 5927 §4.1); while opening, a hard error aborts the connection; once synchronized every
 * error is soft (RFC 1122 §4.2.3.9), recorded and reported only if the connection later times
 * out (Linux without IP_RECVERR).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { TcpConnection } from "./connection.ts";
import type { TcpEndpoint } from "./endpoint.ts";

/** Counter for an ICMP error quoting a sequence number outside the window (Linux's OutOfWindowIcmps). */
export const ICMP_OOW = "tcp: icmp out-of-window";

/** Apply ICMP error `code` quoting `seq` to `conn` (and its socket, if it still has one). */
export function applyIcmpError(
  conn: TcpConnection,
  sock: TcpEndpoint | undefined,
  code: ErrnoCode,
  seq: number,
  count: (what: string) => void,
): void {
  if (!conn.icmpSeqAcceptable(seq)) return count(ICMP_OOW);
  if (code === "EMSGSIZE") return; // path MTU: the caller's path MTU path handles it
  const opening = conn.state === "SYN-SENT" || conn.state === "SYN-RECEIVED";
  // Linux treats net/host unreachable as soft even in SYN-SENT (icmp_err_convert .fatal = 0)
  // and fails connect() only at the SYN timeout; Serin, as before, fails it at once there.
  const fatal = code !== "EHOSTUNREACH" && code !== "ENETUNREACH";
  if (opening && (fatal || conn.state === "SYN-SENT")) {
    sock?.setError(code);
    conn.abort();
    sock?.wq.wake();
    return count("tcp: icmp abort");
  }
  conn.icmpSoftError(code);
  count("tcp: icmp soft-error");
}
