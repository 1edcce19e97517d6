/**
 * The Ethernet frame check sequence (IEEE 802.3 §3.2.9): CRC-32, reflected polynomial
 * 0xEDB88320, initial value and final XOR 0xFFFFFFFF, sent least significant byte first.
 * Device models that hand the FCS to the driver (RTL8139) append it with {@link fcs}.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `data` as an unsigned number. */
export function fcs(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
