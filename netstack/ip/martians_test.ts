import assert from "node:assert/strict";
import { parseIPv4 } from "../wire/addr.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { arpMartian, martian4, type MartianIface4 } from "./martians.ts";

const ip = (s: string) => parseIPv4(s)!;
/** eth0 with 10.0.0.2/24 (directed broadcast 10.0.0.255). */
const eth0: MartianIface4 = {
  loopback: false,
  acceptsIPv4: (a) =>
    a === ip("10.0.0.2") ? "unicast" : a === ip("10.0.0.255") ? "broadcast" : undefined,
};
const lo: MartianIface4 = { loopback: true, acceptsIPv4: () => undefined };
const isOwn = (a: number) => a === ip("10.0.0.2") || (a >>> 24) === 127;
const check = (iface: MartianIface4, src: string, dst: string, proto: number = IpProtocol.TCP) =>
  martian4(iface, ip(src), ip(dst), proto, isOwn);

Deno.test("martian4: 127/8 and 0/8 on a wire, as Linux's ip_route_input_slow", () => {
  assert.equal(check(eth0, "10.0.0.1", "127.0.0.1"), "martian-destination");
  assert.equal(check(eth0, "127.0.0.1", "10.0.0.2"), "martian-source");
  assert.equal(check(eth0, "0.1.2.3", "10.0.0.2"), "martian-source");
  assert.equal(check(eth0, "10.0.0.1", "0.0.0.0"), "martian-destination");
  assert.equal(check(eth0, "10.0.0.1", "0.9.9.9"), "martian-destination");
  // Both bad: the source is looked at first for 0/8, the destination first for 127/8.
  assert.equal(check(eth0, "0.0.0.1", "127.0.0.1"), "martian-source");
  assert.equal(check(eth0, "127.0.0.1", "127.0.0.1"), "martian-destination");
  assert.equal(check(eth0, "10.0.0.1", "10.0.0.2"), undefined);
});

Deno.test("martian4: broadcast, multicast and our own addresses as source", () => {
  assert.equal(check(eth0, "224.0.0.5", "10.0.0.2"), "martian-source");
  assert.equal(check(eth0, "255.255.255.255", "10.0.0.2"), "martian-source");
  assert.equal(check(eth0, "10.0.0.255", "10.0.0.2"), "martian-source");
  assert.equal(check(eth0, "10.0.0.2", "10.0.0.2"), "martian-source", "LAND");
  assert.equal(check(eth0, "10.0.0.2", "255.255.255.255"), "martian-source");
  assert.equal(check(eth0, "127.0.0.1", "224.0.0.1"), "martian-source");
  assert.equal(check(eth0, "127.0.0.1", "255.255.255.255"), "martian-source");
});

Deno.test("martian4: what Linux lets through", () => {
  // A DHCP client without an address.
  assert.equal(check(eth0, "0.0.0.0", "255.255.255.255", IpProtocol.UDP), undefined);
  // "This network" towards a link-local group, or IGMP to any group.
  assert.equal(check(eth0, "0.0.0.0", "224.0.0.22", IpProtocol.IGMP), undefined);
  assert.equal(check(eth0, "0.0.0.0", "224.0.0.251", IpProtocol.UDP), undefined);
  assert.equal(check(eth0, "0.0.0.0", "239.1.1.1", IpProtocol.IGMP), undefined);
  assert.equal(check(eth0, "0.0.0.0", "239.1.1.1", IpProtocol.UDP), "martian-source");
  assert.equal(check(eth0, "10.0.0.1", "239.1.1.1", IpProtocol.UDP), undefined);
  // Loopback carries this host's own traffic: only a multicast/broadcast source is refused.
  assert.equal(check(lo, "127.0.0.1", "127.0.0.1"), undefined);
  assert.equal(check(lo, "10.0.0.2", "10.0.0.2"), undefined);
  assert.equal(check(lo, "224.0.0.1", "127.0.0.1"), "martian-source");
});

Deno.test("arpMartian: as Linux's arp_process, martian senders and targets get no answer", () => {
  const arp = (sender: string, target: string) => arpMartian(eth0, ip(sender), ip(target), isOwn);
  assert.equal(arp("10.0.0.1", "10.0.0.2"), false);
  assert.equal(arp("0.0.0.0", "10.0.0.2"), false, "a probe (RFC 5227) is answered");
  assert.equal(arp("10.0.0.9", "10.0.0.9"), false, "a gratuitous ARP is learned");
  assert.equal(arp("127.0.0.1", "10.0.0.2"), true);
  assert.equal(arp("224.0.0.5", "10.0.0.2"), true);
  assert.equal(arp("10.0.0.255", "10.0.0.2"), true);
  assert.equal(arp("10.0.0.2", "10.0.0.2"), true, "someone else announcing our address");
  assert.equal(arp("10.0.0.1", "127.0.0.1"), true);
  assert.equal(arp("10.0.0.1", "224.0.0.1"), true);
  assert.equal(arp("0.0.0.0", "127.0.0.1"), true);
});
