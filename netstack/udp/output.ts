/** Building outgoing UDP datagrams (header + checksum over the IPv4 pseudo-header). */
import { pseudoHeaderSum4 } from "../wire/checksum.ts";
import { emitUdp, UDP_HEADER_LEN } from "../wire/udp.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { allocPacket } from "../link/headroom.ts";

/** A UDP datagram (header + `data`) from src:sport to dst:dport, checksummed. */
export function buildUdp4(
  src: number,
  sport: number,
  dst: number,
  dport: number,
  data: Uint8Array,
): Uint8Array {
  const len = UDP_HEADER_LEN + data.length;
  const buf = allocPacket(len);
  emitUdp({ srcPort: sport, dstPort: dport, payload: data }, buf, {
    pseudoSum: pseudoHeaderSum4(src, dst, IpProtocol.UDP, len),
  });
  return buf;
}
