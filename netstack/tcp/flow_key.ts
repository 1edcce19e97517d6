/**
 * Keys naming a TCP flow in the TCP layer's tables: the 4-tuple of a connection, and the peer
 * key a listener's half-open and accepted children carry ("remote>local" for IPv4,
 * "6|remote|local|scope" for IPv6). Addresses are numbers (IPv4) or 16-byte arrays (IPv6).
 */
import { parseIPv6 } from "../wire/addr.ts";
import { key6 } from "../ip6/addr6.ts";

/** An IPv4 (number) or IPv6 (16 bytes) address. */
export type TcpAddr = number | Uint8Array;

/** The connection table's key for a 4-tuple. */
export function flowKey(remote: TcpAddr, rport: number, local: TcpAddr, lport: number): string {
  const f = (a: TcpAddr) => typeof a === "number" ? String(a) : `[${key6(a)}]`;
  return `${f(remote)}:${rport}:${f(local)}:${lport}`;
}

/** Listener peer key for an IPv4 peer: "remote>local". */
export function peerKey4(remote: number, local: number): string {
  return `${remote}>${local}`;
}

/** Listener peer key for an IPv6 peer: "6|remote|local|scope". */
export function peerKey6(remote: Uint8Array, local: Uint8Array, scope: number): string {
  return `6|${key6(remote)}|${key6(local)}|${scope}`;
}

/** The addresses (and link-local scope) a peer key names. */
export interface PeerAddrs {
  remote: TcpAddr;
  local: TcpAddr;
  scope: number;
}

/** Undo {@link peerKey4} or {@link peerKey6}. */
export function parsePeerKey(k: string): PeerAddrs {
  if (k.startsWith("6|")) {
    const [, r, l, sc] = k.split("|");
    return { remote: parseIPv6(r)!, local: parseIPv6(l)!, scope: Number(sc) };
  }
  const [remote, local] = k.split(">").map(Number);
  return { remote, local, scope: 0 };
}
