/**
 * UDP demultiplexing (`udp_demux.ts`) on a real host's port table: the most specific socket takes
 * a unicast datagram, every member a broadcast, ICMP errors reach the connected socket they
 * quote, and a corrupt checksum is refused before any socket sees it.
 */
import assert from "node:assert/strict";
import * as abi from "../../kernel/abi.ts";
import { Sim } from "../../tests/sim.ts";
import { IpProtocol, type Ipv4Repr } from "../wire/ipv4.ts";
import { encodeUdp } from "../wire/udp.ts";
import { pseudoHeaderSum4 } from "../wire/checksum.ts";
import { WireError } from "../wire/errors.ts";
import { Errno } from "../../kernel/errno.ts";
import { UdpDemux } from "./udp_demux.ts";
import type { UdpSocket } from "./udp_socket.ts";

const A = 0x0a000001;
const B = 0x0a000002;
const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });

/** Datagrams waiting in `s`'s receive queue (read through its protected queue). */
const queued = (s: UdpSocket) => (s as unknown as { rq: { length: number } }).rq.length;

function setup() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const demux = new UdpDemux(a.ports.udp);
  const sock = (bindTo: string, connectTo?: string) => {
    const s = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
    s.setsockopt(abi.SOL_SOCKET, abi.SO_REUSEADDR, 1);
    s.bind(in4(bindTo, 53));
    if (connectTo) void s.connect(in4(connectTo, 5000), { signal: sim.signal });
    return s;
  };
  return { sim, a, demux, sock, ctx: { signal: sim.signal } };
}

function datagram(src: number, dst: number, body: string): Ipv4Repr {
  const payload = encodeUdp(
    { srcPort: 5000, dstPort: 53, payload: new TextEncoder().encode(body) },
    { pseudoSum: pseudoHeaderSum4(src, dst, IpProtocol.UDP, 8 + body.length) },
  );
  return {
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IpProtocol.UDP,
    src,
    dst,
    options: new Uint8Array(0),
    payload,
  };
}

Deno.test("udp demux: connected beats bound-to-address beats wildcard, for unicast", async () => {
  const { a, demux, sock, ctx } = setup();
  const any = sock("0.0.0.0");
  const bound = sock("10.0.0.1");
  const connected = sock("10.0.0.1", "10.0.0.2");
  const iface = a.iface("eth0")!;
  assert.equal(demux.input4(iface, datagram(B, A, "from b"), "unicast"), true);
  assert.equal(new TextDecoder().decode((await connected.recvmsg(100, 0, ctx)).data), "from b");
  assert.equal(demux.input4(iface, datagram(0x0a000003, A, "from c"), "unicast"), true);
  assert.equal(new TextDecoder().decode((await bound.recvmsg(100, 0, ctx)).data), "from c");
  assert.equal(queued(any), 0);
});

Deno.test("udp demux: a broadcast reaches every matching socket; a closed port is reported", () => {
  const { a, demux, sock } = setup();
  const one = sock("0.0.0.0");
  const two = sock("0.0.0.0");
  const iface = a.iface("eth0")!;
  assert.equal(demux.input4(iface, datagram(B, 0x0a0000ff, "all"), "broadcast"), true);
  assert.equal(queued(one), 1);
  assert.equal(queued(two), 1);
  one.release();
  two.release();
  assert.equal(demux.input4(iface, datagram(B, A, "nobody"), "unicast"), false);
  assert.equal(demux.holds4(53), false);
});

Deno.test("udp demux: an ICMP error reaches the connected socket it quotes, not others", () => {
  const { demux, sock } = setup();
  const any = sock("0.0.0.0");
  const connected = sock("10.0.0.1", "10.0.0.2");
  assert.equal(demux.holds4(53), true);
  demux.icmpError4(B, 53, 5000, "ECONNREFUSED");
  assert.equal(connected.getsockopt(abi.SOL_SOCKET, abi.SO_ERROR), Errno.ECONNREFUSED);
  assert.equal(any.getsockopt(abi.SOL_SOCKET, abi.SO_ERROR), 0);
});

Deno.test("udp demux: a corrupt checksum is refused before any socket sees it", () => {
  const { a, demux, sock } = setup();
  const any = sock("0.0.0.0");
  const d = datagram(B, A, "corrupt");
  d.payload[9] ^= 0xff;
  assert.throws(() => demux.input4(a.iface("eth0")!, d, "unicast"), WireError);
  assert.equal(queued(any), 0);
});
