/** Building outgoing UDP datagrams over IPv6 (checksum over the IPv6 pseudo-header, never 0). */
import { pseudoHeaderSum6 } from "../wire/checksum.ts";
import { emitUdp, UDP_HEADER_LEN } from "../wire/udp.ts";

/** A UDP datagram (header + `data`) from [src]:sport to [dst]:dport, checksummed. */
export function buildUdp6(
  src: Uint8Array,
  sport: number,
  dst: Uint8Array,
  dport: number,
  data: Uint8Array,
): Uint8Array {
  const len = UDP_HEADER_LEN + data.length;
  const buf = new Uint8Array(len);
  emitUdp({ srcPort: sport, dstPort: dport, payload: data }, buf, {
    pseudoSum: pseudoHeaderSum6(src, dst, 17, len),
  });
  return buf;
}
