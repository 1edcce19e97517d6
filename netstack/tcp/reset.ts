/** RST replies for segments that match no connection (RFC 9293 §3.10.7.1). */

import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { seqAdd } from "./seqnum.ts";

/**
 * The RST to send in answer to `seg` when no connection (or a CLOSED one) owns it, or undefined
 * when `seg` is itself an RST. Ports are swapped; addresses are the IP layer's job.
 */
export function resetReplyFor(seg: TcpRepr): TcpRepr | undefined {
  const f = seg.flags;
  if (f & TcpFlag.RST) return undefined;
  const base = {
    srcPort: seg.dstPort,
    dstPort: seg.srcPort,
    window: 0,
    urgent: 0,
    options: {},
    payload: new Uint8Array(0),
  };
  if (f & TcpFlag.ACK) return { ...base, seq: seg.ack, ack: 0, flags: TcpFlag.RST };
  const len = seg.payload.length + (f & TcpFlag.SYN ? 1 : 0) + (f & TcpFlag.FIN ? 1 : 0);
  return { ...base, seq: 0, ack: seqAdd(seg.seq, len), flags: TcpFlag.RST | TcpFlag.ACK };
}
