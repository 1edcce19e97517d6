/**
 * Raw IPv6 sockets (SOCK_RAW, AF_INET6), Linux semantics: send and receive the upper-layer message
 * WITHOUT the IPv6 header. For IPPROTO_ICMPV6 the stack fills in the ICMPv6 checksum on send (so
 * ping6 sends type/code/id/seq/data with a zero checksum). Only processes with net_raw get one.
 */
import * as abi from "../../kernel/abi.ts";
import type { SockAddr } from "../../kernel/bus/messages.ts";
import { type ErrnoCode, ErrnoError } from "../../kernel/errno.ts";
import { checksum, pseudoHeaderSum6 } from "../wire/checksum.ts";
import { equal6, isLinkLocal6, isMulticast6, isUnspecified6, UNSPECIFIED6 } from "../ip6/addr6.ts";
import type { SendOwner6, Stack6 } from "../stack6.ts";
import { in6Addr, sockAddr6, type WaitCtx } from "./socket.ts";
import { RawBase } from "./raw_base.ts";

/** One raw IPv6 socket. */
export class Raw6Socket extends RawBase implements SendOwner6 {
  localAddr: Uint8Array = UNSPECIFIED6;
  remoteAddr?: Uint8Array;

  constructor(sid: number, readonly stack6: Stack6, protocol: number) {
    super(sid, stack6, abi.SOCK_RAW, protocol);
    this.family = abi.AF_INET6;
  }

  get proto(): string {
    return "raw6";
  }

  bind(addr: SockAddr): void {
    const a = in6Addr(addr, "Cannot bind");
    if (!isUnspecified6(a.addr) && !this.stack6.isLocal6(a.addr)) {
      throw new ErrnoError("EADDRNOTAVAIL", "Cannot bind");
    }
    this.localAddr = a.addr;
  }

  connect(addr: SockAddr): Promise<void> {
    if (addr.family === 0) this.remoteAddr = undefined;
    else this.remoteAddr = in6Addr(addr, "Cannot connect").addr;
    return Promise.resolve();
  }

  sendmsg(
    data: Uint8Array,
    _flags: number,
    addr: SockAddr | undefined,
    _ctx?: WaitCtx,
  ): Promise<number> {
    const a = addr && addr.family !== 0 ? in6Addr(addr, "Cannot send") : undefined;
    const dst = a?.addr ?? this.remoteAddr;
    if (dst === undefined) throw new ErrnoError("EDESTADDRREQ", "Cannot send");
    if (data.length > 65535) throw new ErrnoError("EMSGSIZE", "Cannot send");
    const route = this.stack6.route6(dst, {
      device: this.opts.bindToDevice,
      scopeId: a?.scopeId,
    });
    if (!route) throw new ErrnoError("ENETUNREACH", "Cannot send");
    const src = isUnspecified6(this.localAddr) ? route.src : this.localAddr;
    const payload = data.slice();
    if (this.protocol === abi.IPPROTO_ICMPV6 && payload.length >= 4) {
      payload[2] = 0;
      payload[3] = 0;
      const c = checksum(payload, pseudoHeaderSum6(src, dst, abi.IPPROTO_ICMPV6, payload.length));
      payload[2] = c >>> 8;
      payload[3] = c & 255;
    }
    const multicast = isMulticast6(dst);
    const hops = multicast
      ? this.opts.multicastHops
      : this.opts.unicastHops >= 0
      ? this.opts.unicastHops
      : this.stack6.hopLimit6;
    const err = this.stack6.output6(route, {
      src,
      dst,
      nextHeader: this.protocol,
      hopLimit: hops,
      payload,
      multicastLoop: this.opts.multicastLoop,
    }, this);
    if (err) throw new ErrnoError(err, "Cannot send");
    return Promise.resolve(data.length);
  }

  /** True if an incoming message of our protocol from `src` to `dst` is for us. */
  matches(src: Uint8Array, dst: Uint8Array, _message: Uint8Array): boolean {
    return !this.closed &&
      (isUnspecified6(this.localAddr) || equal6(this.localAddr, dst)) &&
      (this.remoteAddr === undefined || equal6(this.remoteAddr, src));
  }

  /** Queue a copy of a received message (no IPv6 header) that arrived with `hopLimit`. */
  deliver(data: Uint8Array, from: Uint8Array, ifindex: number, hopLimit?: number): void {
    const addr = sockAddr6(from, 0, isLinkLocal6(from) ? ifindex : 0);
    const packet = {
      data,
      addr,
      at: this.stack.clock.now(),
      hopLimit: this.opts.recvHopLimit ? hopLimit : undefined,
    };
    this.enqueue(packet, "raw6: rcvbuf-full");
  }

  onSendError6(code: ErrnoCode, dst: Uint8Array): void {
    if (this.remoteAddr && equal6(this.remoteAddr, dst)) this.setError(code);
  }

  getsockname(): SockAddr {
    return sockAddr6(this.localAddr, 0);
  }

  getpeername(): SockAddr {
    if (this.remoteAddr === undefined) throw new ErrnoError("ENOTCONN", "Not connected");
    return sockAddr6(this.remoteAddr, 0);
  }
}
