/**
 * DHCPv4 messages (RFC 2131 §2) and the options a client uses (RFC 2132), for Ethernet clients
 * (htype 1, hlen 6) only. Pure functions over bytes: {@link parseDhcp} and {@link emitDhcp}.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+---------------+---------------+
 * |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
 * +---------------+---------------+---------------+---------------+
 * |                            xid (4)                            |
 * +-------------------------------+-------------------------------+
 * |           secs (2)            |           flags (2)           |
 * +-------------------------------+-------------------------------+
 * |                          ciaddr  (4)                          |
 * |                          yiaddr  (4)                          |
 * |                          siaddr  (4)                          |
 * |                          giaddr  (4)                          |
 * +---------------------------------------------------------------+
 * |                          chaddr  (16)                         |
 * |                          sname   (64)                         |
 * |                          file    (128)                        |
 * +---------------------------------------------------------------+
 * |              magic cookie 99.130.83.99 (4)                    |
 * +---------------------------------------------------------------+
 * |                          options (variable)                   |
 * +---------------------------------------------------------------+
 * ```
 *
 * Options are code/length/value triples ended by END (255); PAD (0) has no length. A code that
 * appears more than once is one option whose values are concatenated (RFC 3396), and option 52
 * (overload) moves more options into `file` and `sname`. Every malformed input (an option running
 * past the end, no END, a wrong length for a fixed-size option, a missing cookie) is a
 * {@link WireError} with protocol "dhcp"; nothing else is ever thrown. Options the client does
 * not know stay as bytes in {@link DhcpRepr.other}.
 */
import { WireError } from "../../netstack/wire/errors.ts";
import { put16, put32, u16, u32 } from "../../netstack/wire/_bytes.ts";

/** Byte offsets of the fixed fields. */
export const DhcpField = {
  OP: 0,
  HTYPE: 1,
  HLEN: 2,
  HOPS: 3,
  XID: 4,
  SECS: 8,
  FLAGS: 10,
  CIADDR: 12,
  YIADDR: 16,
  SIADDR: 20,
  GIADDR: 24,
  CHADDR: 28,
  SNAME: 44,
  FILE: 108,
  COOKIE: 236,
  OPTIONS: 240,
} as const;

/** Length of the fixed part, magic cookie included. */
export const DHCP_FIXED_LEN = 240;
/** Shortest message emitted: a BOOTP message's 300 bytes (RFC 1542 §2.1), as Linux clients pad. */
export const DHCP_MIN_EMIT_LEN = 300;
/** The magic cookie 99.130.83.99 (RFC 2131 §3). */
export const DHCP_MAGIC = 0x63825363;
/** UDP port of servers. */
export const DHCP_SERVER_PORT = 67;
/** UDP port of clients. */
export const DHCP_CLIENT_PORT = 68;
/** The broadcast bit of `flags` (RFC 2131 §2): answer by broadcast, the client has no address. */
export const DHCP_FLAG_BROADCAST = 0x8000;

/** `op` values. */
export const DhcpOp = { BOOTREQUEST: 1, BOOTREPLY: 2 } as const;

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** Option codes (RFC 2132) this client reads or writes. */
export const DhcpOption = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOST_NAME: 12,
  DOMAIN_NAME: 15,
  MTU: 26,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** A DHCP message as a plain record. Addresses are unsigned 32-bit numbers; 0 when unset. */
export interface DhcpRepr {
  /** {@link DhcpOp}. */
  op: number;
  hops?: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** The client's MAC, 6 bytes. */
  chaddr: Uint8Array;
  /** Option 53; absent in a plain BOOTP message. */
  messageType?: number;
  subnetMask?: number;
  /** Option 3, in the server's order of preference. */
  routers?: number[];
  /** Option 6. */
  dnsServers?: number[];
  hostName?: string;
  domainName?: string;
  /** Option 26, interface MTU. */
  mtu?: number;
  requestedIp?: number;
  /** Option 51 in seconds; 0xffffffff is infinite. */
  leaseTime?: number;
  /** Option 58 (T1) in seconds. */
  renewalTime?: number;
  /** Option 59 (T2) in seconds. */
  rebindingTime?: number;
  serverId?: number;
  parameterRequestList?: number[];
  /** Option 56, an error text from the server (in a NAK) or the client (in a DECLINE). */
  message?: string;
  maxMessageSize?: number;
  clientId?: Uint8Array;
  /** Other options by code, their values as bytes, in the order they came. */
  other?: Array<{ code: number; data: Uint8Array }>;
}

/** Name of a message type ("DISCOVER", …, or the number). For printing only. */
export function dhcpMessageTypeName(t: number | undefined): string {
  if (t === undefined) return "BOOTP";
  const e = Object.entries(DhcpMessageType).find(([, v]) => v === t);
  return e ? e[0] : `type ${t}`;
}

const F = DhcpField;
const O = DhcpOption;
/** A string option's bytes: one byte per character (Latin-1), as {@link text} reads them. */
function latin1Bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 255;
  return b;
}

function fail(
  reason: "truncated" | "bad-length" | "malformed" | "unsupported",
  why: string,
): never {
  throw new WireError("dhcp", reason, why);
}

/**
 * Walk the options in `b` (from `start`), concatenating repeated codes into `into`. Returns true
 * when an END was found. Throws WireError when an option runs past the end.
 */
function readOptions(b: Uint8Array, start: number, into: Map<number, Uint8Array[]>): boolean {
  let i = start;
  while (i < b.length) {
    const code = b[i];
    if (code === O.PAD) {
      i++;
      continue;
    }
    if (code === O.END) return true;
    if (i + 2 > b.length) fail("truncated", `option ${code} has no length`);
    const len = b[i + 1];
    if (i + 2 + len > b.length) fail("truncated", `option ${code} runs past the end`);
    const parts = into.get(code) ?? [];
    parts.push(b.subarray(i + 2, i + 2 + len));
    into.set(code, parts);
    i += 2 + len;
  }
  return false;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A fixed-size option's value, or WireError "bad-length". */
function exact(code: number, v: Uint8Array, len: number): Uint8Array {
  if (v.length !== len) fail("bad-length", `option ${code}: ${v.length} bytes, not ${len}`);
  return v;
}

/** A list of IPv4 addresses (a non-empty multiple of 4 bytes). */
function addrList(code: number, v: Uint8Array): number[] {
  if (v.length === 0 || v.length % 4 !== 0) {
    fail("bad-length", `option ${code}: ${v.length} bytes, not a multiple of 4`);
  }
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(u32(v, i));
  return out;
}

/** Text of a string option, without the NULs some servers end it with (RFC 2132 §2). */
function text(code: number, v: Uint8Array): string {
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end--;
  if (end === 0) fail("bad-length", `option ${code} is empty`);
  // One character per byte (ISO 8859-1; TextDecoder's "latin1" is windows-1252, which is not).
  return String.fromCharCode(...v.subarray(0, end));
}

/**
 * Parse a DHCP (or BOOTP) message from a UDP payload. Throws WireError "truncated",
 * "bad-length", "malformed" (no cookie, no END, a bad value) or "unsupported" (not Ethernet).
 */
export function parseDhcp(b: Uint8Array): DhcpRepr {
  if (b.length < DHCP_FIXED_LEN) fail("truncated", `${b.length} bytes`);
  const op = b[F.OP];
  if (op !== DhcpOp.BOOTREQUEST && op !== DhcpOp.BOOTREPLY) fail("malformed", `op ${op}`);
  if (b[F.HTYPE] !== 1 || b[F.HLEN] !== 6) {
    fail("unsupported", `htype ${b[F.HTYPE]} hlen ${b[F.HLEN]}`);
  }
  if (u32(b, F.COOKIE) !== DHCP_MAGIC) fail("malformed", "no magic cookie");
  const raw = new Map<number, Uint8Array[]>();
  if (!readOptions(b, F.OPTIONS, raw)) fail("malformed", "options have no END");
  const overload = raw.get(O.OVERLOAD);
  if (overload) {
    const v = exact(O.OVERLOAD, concat(overload), 1)[0];
    if (v < 1 || v > 3) fail("malformed", `overload ${v}`);
    raw.delete(O.OVERLOAD);
    // RFC 2131 §4.1: options, then file, then sname; each field must end with END.
    if (v & 1 && !readOptions(b.subarray(F.FILE, F.COOKIE), 0, raw)) {
      fail("malformed", "file options have no END");
    }
    if (v & 2 && !readOptions(b.subarray(F.SNAME, F.FILE), 0, raw)) {
      fail("malformed", "sname options have no END");
    }
  }
  const m: DhcpRepr = {
    op,
    hops: b[F.HOPS],
    xid: u32(b, F.XID),
    secs: u16(b, F.SECS),
    flags: u16(b, F.FLAGS),
    ciaddr: u32(b, F.CIADDR),
    yiaddr: u32(b, F.YIADDR),
    siaddr: u32(b, F.SIADDR),
    giaddr: u32(b, F.GIADDR),
    chaddr: b.slice(F.CHADDR, F.CHADDR + 6),
  };
  for (const [code, parts] of raw) {
    const v = concat(parts);
    switch (code) {
      case O.MESSAGE_TYPE: {
        const t = exact(code, v, 1)[0];
        if (t < DhcpMessageType.DISCOVER || t > DhcpMessageType.INFORM) {
          fail("malformed", `message type ${t}`);
        }
        m.messageType = t;
        break;
      }
      case O.SUBNET_MASK:
        m.subnetMask = u32(exact(code, v, 4), 0);
        break;
      case O.ROUTER:
        m.routers = addrList(code, v);
        break;
      case O.DNS_SERVERS:
        m.dnsServers = addrList(code, v);
        break;
      case O.HOST_NAME:
        m.hostName = text(code, v);
        break;
      case O.DOMAIN_NAME:
        m.domainName = text(code, v);
        break;
      case O.MTU: {
        const mtu = u16(exact(code, v, 2), 0);
        if (mtu < 68) fail("malformed", `MTU ${mtu} below 68`);
        m.mtu = mtu;
        break;
      }
      case O.REQUESTED_IP:
        m.requestedIp = u32(exact(code, v, 4), 0);
        break;
      case O.LEASE_TIME:
        m.leaseTime = u32(exact(code, v, 4), 0);
        break;
      case O.RENEWAL_TIME:
        m.renewalTime = u32(exact(code, v, 4), 0);
        break;
      case O.REBINDING_TIME:
        m.rebindingTime = u32(exact(code, v, 4), 0);
        break;
      case O.SERVER_ID:
        m.serverId = u32(exact(code, v, 4), 0);
        break;
      case O.PARAMETER_REQUEST_LIST:
        if (v.length === 0) fail("bad-length", "empty parameter request list");
        m.parameterRequestList = [...v];
        break;
      case O.MESSAGE:
        m.message = text(code, v);
        break;
      case O.MAX_MESSAGE_SIZE: {
        const size = u16(exact(code, v, 2), 0);
        if (size < 576) fail("malformed", `maximum message size ${size} below 576`);
        m.maxMessageSize = size;
        break;
      }
      case O.CLIENT_ID:
        if (v.length < 2) fail("bad-length", `client identifier of ${v.length} bytes`);
        m.clientId = v.slice();
        break;
      default:
        (m.other ??= []).push({ code, data: v.slice() });
    }
  }
  return m;
}

/** The options of `m` as code/value pairs, in the order they are emitted (53 first). */
function optionList(m: DhcpRepr): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  const u8 = (v: number) => Uint8Array.of(v);
  const be16 = (v: number) => {
    const b = new Uint8Array(2);
    put16(b, 0, v);
    return b;
  };
  const be32 = (...vs: number[]) => {
    const b = new Uint8Array(4 * vs.length);
    vs.forEach((v, i) => put32(b, 4 * i, v));
    return b;
  };
  const add = (code: number, v: Uint8Array | undefined) => v && out.push([code, v]);
  if (m.messageType !== undefined) add(O.MESSAGE_TYPE, u8(m.messageType));
  add(O.CLIENT_ID, m.clientId);
  if (m.requestedIp !== undefined) add(O.REQUESTED_IP, be32(m.requestedIp));
  if (m.serverId !== undefined) add(O.SERVER_ID, be32(m.serverId));
  if (m.leaseTime !== undefined) add(O.LEASE_TIME, be32(m.leaseTime));
  if (m.renewalTime !== undefined) add(O.RENEWAL_TIME, be32(m.renewalTime));
  if (m.rebindingTime !== undefined) add(O.REBINDING_TIME, be32(m.rebindingTime));
  if (m.subnetMask !== undefined) add(O.SUBNET_MASK, be32(m.subnetMask));
  if (m.routers?.length) add(O.ROUTER, be32(...m.routers));
  if (m.dnsServers?.length) add(O.DNS_SERVERS, be32(...m.dnsServers));
  if (m.hostName) add(O.HOST_NAME, latin1Bytes(m.hostName));
  if (m.domainName) add(O.DOMAIN_NAME, latin1Bytes(m.domainName));
  if (m.mtu !== undefined) add(O.MTU, be16(m.mtu));
  if (m.maxMessageSize !== undefined) add(O.MAX_MESSAGE_SIZE, be16(m.maxMessageSize));
  if (m.message) add(O.MESSAGE, latin1Bytes(m.message));
  if (m.parameterRequestList?.length) {
    add(O.PARAMETER_REQUEST_LIST, Uint8Array.from(m.parameterRequestList));
  }
  for (const o of m.other ?? []) add(o.code, o.data);
  return out;
}

/** Bytes the options of `m` take, END included (values over 255 bytes split, RFC 3396). */
function optionsLength(opts: Array<[number, Uint8Array]>): number {
  let n = 1;
  for (const [, v] of opts) n += v.length + 2 * Math.max(1, Math.ceil(v.length / 255));
  return n;
}

/** Length of `m` on the wire: the fixed part, options, END, padded to 300 bytes. */
export function dhcpLength(m: DhcpRepr): number {
  return Math.max(DHCP_MIN_EMIT_LEN, DHCP_FIXED_LEN + optionsLength(optionList(m)));
}

/**
 * Write `m` into `buf` (every byte of it: fields, options, END and zero padding) and return its
 * length. Throws RangeError when `buf` is shorter than {@link dhcpLength}.
 */
export function emitDhcp(m: DhcpRepr, buf: Uint8Array): number {
  const opts = optionList(m);
  const len = Math.max(DHCP_MIN_EMIT_LEN, DHCP_FIXED_LEN + optionsLength(opts));
  if (buf.length < len) throw new RangeError(`Buffer of ${buf.length} bytes < ${len}`);
  buf.fill(0, 0, len);
  buf[F.OP] = m.op;
  buf[F.HTYPE] = 1;
  buf[F.HLEN] = 6;
  buf[F.HOPS] = m.hops ?? 0;
  put32(buf, F.XID, m.xid);
  put16(buf, F.SECS, m.secs);
  put16(buf, F.FLAGS, m.flags);
  put32(buf, F.CIADDR, m.ciaddr);
  put32(buf, F.YIADDR, m.yiaddr);
  put32(buf, F.SIADDR, m.siaddr);
  put32(buf, F.GIADDR, m.giaddr);
  buf.set(m.chaddr.subarray(0, 6), F.CHADDR);
  put32(buf, F.COOKIE, DHCP_MAGIC);
  let i = F.OPTIONS;
  for (const [code, v] of opts) {
    let at = 0;
    do {
      const n = Math.min(255, v.length - at);
      buf[i] = code;
      buf[i + 1] = n;
      buf.set(v.subarray(at, at + n), i + 2);
      i += 2 + n;
      at += n;
    } while (at < v.length);
  }
  buf[i] = O.END;
  return len;
}

/** Encode `m` into a new buffer. */
export function encodeDhcp(m: DhcpRepr): Uint8Array {
  const buf = new Uint8Array(dhcpLength(m));
  emitDhcp(m, buf);
  return buf;
}
