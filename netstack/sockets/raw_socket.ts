/**
 * Raw IPv4 sockets (SOCK_RAW), Linux semantics: send the protocol message without an IP header
 * (the stack adds it), receive whole IPv4 datagrams, header included, for the socket's protocol.
 * Only processes with the net_raw capability get one (checked by the kernel).
 */
import * as abi from "../../kernel/abi.ts";
import type { SockAddr } from "../../kernel/bus/messages.ts";
import { type ErrnoCode, ErrnoError } from "../../kernel/errno.ts";
import type { SendOwner, Stack } from "../stack.ts";
import { inAddr, sockAddr4, type WaitCtx } from "./socket.ts";
import { RawBase } from "./raw_base.ts";

/** One raw IPv4 socket. */
export class RawSocket extends RawBase implements SendOwner {
  localAddr = 0;
  remoteAddr?: number;

  constructor(sid: number, stack: Stack, protocol: number) {
    super(sid, stack, abi.SOCK_RAW, protocol);
  }

  get proto(): string {
    return "raw";
  }

  bind(addr: SockAddr): void {
    const a = inAddr(addr, "Cannot bind");
    if (a.addr !== 0 && !this.stack.isLocal4(a.addr)) {
      throw new ErrnoError("EADDRNOTAVAIL", "Cannot bind");
    }
    this.localAddr = a.addr;
  }

  connect(addr: SockAddr): Promise<void> {
    if (addr.family === 0) this.remoteAddr = undefined;
    else this.remoteAddr = inAddr(addr, "Cannot connect").addr;
    return Promise.resolve();
  }

  sendmsg(
    data: Uint8Array,
    _flags: number,
    addr: SockAddr | undefined,
    _ctx?: WaitCtx,
  ): Promise<number> {
    const dst = addr && addr.family !== 0 ? inAddr(addr, "Cannot send").addr : this.remoteAddr;
    if (dst === undefined) throw new ErrnoError("EDESTADDRREQ", "Cannot send");
    if (data.length > 65515) throw new ErrnoError("EMSGSIZE", "Cannot send");
    const route = this.stack.route4(dst, this.opts.bindToDevice);
    if (!route) throw new ErrnoError("ENETUNREACH", "Cannot send");
    if (route.broadcast && !this.opts.broadcast) {
      throw new ErrnoError("EACCES", "Cannot send to broadcast");
    }
    const err = this.stack.output4(route, {
      src: this.localAddr || route.src,
      dst,
      protocol: this.protocol,
      ttl: (dst >>> 28) === 0xe ? this.opts.multicastTtl : this.opts.ttl,
      tos: this.opts.tos,
      payload: data.slice(),
    }, this);
    if (err) throw new ErrnoError(err, "Cannot send");
    return Promise.resolve(data.length);
  }

  /** True if an incoming datagram of our protocol from `src` to `dst` is for us. */
  matches(protocol: number, src: number, dst: number): boolean {
    return !this.closed && (this.protocol === protocol || this.protocol === abi.IPPROTO_RAW) &&
      (this.localAddr === 0 || this.localAddr === dst) &&
      (this.remoteAddr === undefined || this.remoteAddr === src);
  }

  /** Queue a copy of a received datagram (header included). */
  deliver(datagram: Uint8Array, from: number): void {
    const packet = { data: datagram, addr: sockAddr4(from, 0), at: this.stack.clock.now() };
    this.enqueue(packet, "raw: rcvbuf-full");
  }

  onSendError(code: ErrnoCode, dst: number): void {
    if (this.remoteAddr === dst) this.setError(code);
  }

  getsockname(): SockAddr {
    return sockAddr4(this.localAddr, 0);
  }

  getpeername(): SockAddr {
    if (this.remoteAddr === undefined) throw new ErrnoError("ENOTCONN", "Not connected");
    return sockAddr4(this.remoteAddr, 0);
  }
}
