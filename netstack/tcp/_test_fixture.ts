/**
 * Test fixture for packet-trace style connection tests: builds a connection in a given state,
 * feeds it segments and collects what it emits. Our side is port 5000, the peer port 80.
 */

import assert from "node:assert/strict";
import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { TcpConnection } from "./connection.ts";
import type { TcpConnectionOptions } from "./options.ts";

export const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

/** Our ISS in fixtures unless given. */
export const ISS = 1000;
/** The peer's ISS in fixtures. */
export const PEER_ISS = 5000;

/** A segment from the peer, with defaults for everything not given. */
export function seg(fields: Partial<TcpRepr> & { len?: number }): TcpRepr {
  const { len, ...rest } = fields;
  return {
    srcPort: 80,
    dstPort: 5000,
    seq: 0,
    ack: 0,
    flags: ACK,
    window: 65535,
    urgent: 0,
    options: {},
    payload: len === undefined ? new Uint8Array(0) : pattern(0, len),
    ...rest,
  };
}

/** `n` bytes of a recognisable pattern starting at stream offset `from`. */
export function pattern(from: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) * 7 & 0xff);
}

/** A connection plus a manual time and the list of segments it emitted. */
export class Harness {
  now = 0;
  out: TcpRepr[] = [];
  conn: TcpConnection;

  constructor(options: Partial<TcpConnectionOptions> = {}, iss = ISS) {
    this.conn = new TcpConnection({
      localPort: 5000,
      remotePort: 80,
      iss,
      emit: (s) => this.out.push({ ...s, payload: s.payload.slice() }),
      options,
    });
  }

  /** Feed a segment, then poll (as the network task would) and return what came out. */
  input(s: TcpRepr): TcpRepr[] {
    this.conn.input(this.now, s);
    return this.flush();
  }

  /** Poll if anything is due now and return what came out. */
  flush(): TcpRepr[] {
    const d = this.conn.nextDeadline();
    if (d !== undefined && d <= this.now) this.conn.poll(this.now);
    return this.take();
  }

  /** Drain the emitted segments. */
  take(): TcpRepr[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /** Move time forward by `ms`, polling at each deadline on the way. */
  advance(ms: number): TcpRepr[] {
    const target = this.now + ms;
    for (let i = 0; i < 10_000; i++) {
      const d = this.conn.nextDeadline();
      if (d === undefined || d > target) break;
      this.now = Math.max(this.now, d);
      this.conn.poll(this.now);
    }
    this.now = target;
    return this.take();
  }

  /** Exactly one segment came out; return it. */
  one(segs: TcpRepr[]): TcpRepr {
    assert.equal(segs.length, 1, `expected one segment, got ${segs.length}`);
    return segs[0];
  }
}

/** Assert nothing was emitted. */
export function expectNothing(segs: TcpRepr[]): void {
  assert.deepEqual(segs.map(describe), []);
}

/** Compact text form of a segment for assertion messages: "S.A 1000:1010 ack 5001 w 1024". */
export function describe(s: TcpRepr): string {
  const f = (["F", "S", "R", "P", "A"] as const).filter((_, i) => s.flags & (1 << i)).join("");
  return `${f} ${s.seq}:${(s.seq + s.payload.length) >>> 0} ack ${s.ack} w ${s.window}`;
}

/** Fixture: a connection in SYN-SENT (our SYN already taken). */
export function synSent(options: Partial<TcpConnectionOptions> = {}, iss = ISS): Harness {
  const h = new Harness(options, iss);
  h.conn.connect(h.now);
  h.take();
  return h;
}

/** Fixture: ESTABLISHED by active open; the peer offers MSS 1460 only (no TS/SACK/wscale). */
export function established(
  options: Partial<TcpConnectionOptions> = {},
  peer: Partial<TcpRepr> = {},
  iss = ISS,
): Harness {
  const h = synSent(options, iss);
  h.input(seg({
    seq: PEER_ISS,
    ack: (iss + 1) >>> 0,
    flags: SYN | ACK,
    options: { mss: 1460 },
    ...peer,
  }));
  assert.equal(h.conn.state, "ESTABLISHED");
  return h;
}
