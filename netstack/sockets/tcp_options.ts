/**
 * The IPPROTO_TCP socket options: TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE/INTVL/CNT,
 * TCP_CONGESTION, TCP_CORK (accepted, no effect) and TCP_INFO, with Linux's ranges and errors.
 * They live on the socket (a {@link TcpEndpoint}); the connection reads them when it is made and
 * {@link applyTcpOptions} updates a live one.
 */
import * as abi from "../../kernel/abi.ts";
import type { OptValue } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { TcpEndpoint } from "../tcp/endpoint.ts";

/** Set TCP option `name` on `s` to `value` (EINVAL, ENOENT or ENOPROTOOPT as Linux). */
export function setTcpOption(s: TcpEndpoint, name: number, value: OptValue): void {
  const num = () => {
    const v = typeof value === "boolean" ? Number(value) : value;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new ErrnoError("EINVAL", "Bad TCP option value");
    }
    return v;
  };
  switch (name) {
    case abi.TCP_NODELAY:
      s.nodelay = num() !== 0;
      break;
    case abi.TCP_MAXSEG: {
      const v = num();
      if (v < 88 || v > 65495) throw new ErrnoError("EINVAL", "TCP_MAXSEG out of range");
      s.maxseg = v;
      break;
    }
    case abi.TCP_KEEPIDLE:
      s.keepIdle = num() * 1000;
      break;
    case abi.TCP_KEEPINTVL:
      s.keepIntvl = num() * 1000;
      break;
    case abi.TCP_KEEPCNT:
      s.keepCnt = num();
      break;
    case abi.TCP_CONGESTION:
      if (value !== "newreno" && value !== "cubic" && value !== "reno") {
        throw new ErrnoError("ENOENT", `Unknown congestion control ${String(value)}`);
      }
      s.congestion = value === "cubic" ? "cubic" : "newreno";
      break;
    case abi.TCP_CORK:
      num();
      break;
    default:
      throw new ErrnoError("ENOPROTOOPT", `Unknown TCP option ${name}`);
  }
}

/** The value of TCP option `name` on `s` (TCP_INFO: ENOTCONN without a connection). */
export function getTcpOption(s: TcpEndpoint, name: number): OptValue {
  switch (name) {
    case abi.TCP_NODELAY:
      return Number(s.nodelay);
    case abi.TCP_MAXSEG:
      return s.conn?.mss ?? s.maxseg ?? 536;
    case abi.TCP_KEEPIDLE:
      return s.keepIdle / 1000;
    case abi.TCP_KEEPINTVL:
      return s.keepIntvl / 1000;
    case abi.TCP_KEEPCNT:
      return s.keepCnt;
    case abi.TCP_CONGESTION:
      return s.congestion;
    case abi.TCP_INFO:
      if (!s.conn) throw new ErrnoError("ENOTCONN", "No connection");
      return { ...s.conn.info() };
    default:
      throw new ErrnoError("ENOPROTOOPT", `Unknown TCP option ${name}`);
  }
}

/** Carry the options a live connection follows (Nagle, keepalive) over to it. */
export function applyTcpOptions(s: TcpEndpoint): void {
  const c = s.conn;
  if (!c) return;
  c.options.nodelay = s.nodelay;
  c.options.oobInline = s.opts.oobInline ?? false;
  c.options.keepalive = s.opts.keepalive
    ? { idle: s.keepIdle, interval: s.keepIntvl, count: s.keepCnt }
    : undefined;
}
