/**
 * Test program: a minimal DHCP server for tools/dhcpc_test.ts. It offers ADDR/24 for LEASE
 * seconds (router and DNS: its own SERVER address; domain lab.test, MTU 1400), answers REQUESTs for ADDR with an ACK (a NAK
 * when `nak` is given), and prints one line per message it receives ("DISCOVER 0.0.0.0", …).
 * With `liar`, every real answer follows a burst of lies: garbage, a cut message, an OFFER with
 * another xid, an ACK for another MAC, and an OFFER of 0.0.0.0.
 */
import {
  AF_INET,
  bind,
  inet,
  print,
  recvfrom,
  sendto,
  setsockopt,
  SO_BROADCAST,
  SOCK_DGRAM,
  socket,
  SOL_SOCKET,
} from "../../libc/mod.ts";
import { formatIPv4, parseIPv4 } from "../../netstack/wire/addr.ts";
import {
  DHCP_FLAG_BROADCAST,
  DhcpMessageType as T,
  dhcpMessageTypeName,
  DhcpOp,
  encodeDhcp,
  parseDhcp,
} from "../../tools/dhcp/message.ts";

export default async function main([server, addr, lease, mode]: string[]): Promise<number> {
  const me = parseIPv4(server)!;
  const offer = parseIPv4(addr)!;
  const fd = await socket(AF_INET, SOCK_DGRAM);
  await setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
  await bind(fd, inet("0.0.0.0", 67));
  print("ready");
  for (;;) {
    const r = await recvfrom(fd, 2048);
    const m = parseDhcp(r.data);
    print(`${dhcpMessageTypeName(m.messageType)} ${formatIPv4(m.ciaddr || m.requestedIp || 0)}`);
    let type: number;
    if (m.messageType === T.DISCOVER) type = T.OFFER;
    else if (m.messageType === T.REQUEST) type = mode === "nak" ? T.NAK : T.ACK;
    else continue;
    const reply = encodeDhcp({
      op: DhcpOp.BOOTREPLY,
      xid: m.xid,
      secs: 0,
      flags: m.flags,
      ciaddr: m.ciaddr,
      yiaddr: type === T.NAK ? 0 : offer,
      siaddr: 0,
      giaddr: 0,
      chaddr: m.chaddr,
      messageType: type,
      serverId: me,
      ...(type === T.NAK ? {} : {
        leaseTime: Number(lease),
        subnetMask: parseIPv4("255.255.255.0"),
        routers: [me],
        dnsServers: [me],
        domainName: "lab.test",
        mtu: 1400,
      }),
    });
    const to = m.ciaddr && !(m.flags & DHCP_FLAG_BROADCAST)
      ? formatIPv4(m.ciaddr)
      : "255.255.255.255";
    if (mode === "liar") {
      const lies = [
        crypto.getRandomValues(new Uint8Array(300)),
        reply.subarray(0, 250),
        lie(reply, (b) => b[4] ^= 1), // xid
        lie(reply, (b) => b[33] ^= 1), // chaddr
        lie(reply, (b) => b.fill(0, 16, 20)), // yiaddr 0.0.0.0
      ];
      for (const l of lies) await sendto(fd, l, inet(to, 68));
    }
    await sendto(fd, reply, inet(to, 68));
  }
}

/** A copy of `b` changed by `f`. */
function lie(b: Uint8Array, f: (b: Uint8Array) => void): Uint8Array {
  const c = b.slice();
  f(c);
  return c;
}
