/**
 * The DHCP client state machine under a virtual clock, read like a packet trace: the client
 * sends, a scripted server (sometimes lying, sometimes silent) answers, the clock advances.
 * Sections follow RFC 2131 §4.4 (states), §4.1 (retransmission) and RFC 5227 §2.1 (probing).
 */
import assert from "node:assert/strict";
import { parseIPv4 } from "../../netstack/wire/addr.ts";
import {
  ARP_TIMING,
  DECLINE_WAIT_MS,
  type DhcpAction,
  DhcpClient,
  type DhcpClientOptions,
  maskPrefix,
} from "./client.ts";
import {
  DHCP_FLAG_BROADCAST,
  DhcpMessageType as T,
  DhcpOp,
  type DhcpRepr,
  encodeDhcp,
} from "./message.ts";

const ip = (s: string) => parseIPv4(s)!;
const MAC = Uint8Array.of(2, 0, 0, 0, 1, 0);
const SERVER = ip("10.9.0.1");
const ADDR = ip("10.9.0.50");

/** A deterministic [0,1) sequence (xorshift). */
function rng(seed = 1): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** A client and its virtual clock, recording what it sends. */
class Bench {
  now = 0;
  readonly client: DhcpClient;
  readonly log: Array<{ at: number; action: DhcpAction }> = [];

  constructor(opts: Partial<DhcpClientOptions> = {}) {
    this.client = new DhcpClient({ mac: MAC, random: rng(7), arpProbe: false, ...opts });
  }

  #take(actions: DhcpAction[]): DhcpAction[] {
    for (const a of actions) this.log.push({ at: this.now, action: a });
    // The netstack's answer to a probe: no conflict unless a test says otherwise.
    for (const a of actions) {
      if (a.kind === "probe") {
        this.#take(this.client.probeResult(a.addr, this.conflict, this.now));
      }
    }
    return actions;
  }

  conflict = false;

  start(): DhcpAction[] {
    return this.#take(this.client.start(this.now));
  }

  /** Advance to `t` ms, firing every deadline on the way. */
  advance(t: number): DhcpAction[] {
    const out: DhcpAction[] = [];
    for (;;) {
      const d = this.client.nextDeadline();
      if (d === undefined || d > t) break;
      this.now = Math.max(this.now, d);
      out.push(...this.#take(this.client.tick(this.now)));
    }
    this.now = t;
    return out;
  }

  receive(m: DhcpRepr | Uint8Array): DhcpAction[] {
    return this.#take(this.client.receive(m instanceof Uint8Array ? m : encodeDhcp(m), this.now));
  }

  /** Messages sent so far (or since index `from` of the log). */
  sent(from = 0): Array<{ at: number; msg: DhcpRepr; to: "broadcast" | number }> {
    return this.log.slice(from).flatMap((e) =>
      e.action.kind === "send" ? [{ at: e.at, msg: e.action.msg, to: e.action.to }] : []
    );
  }

  last(): DhcpRepr {
    const s = this.sent();
    return s[s.length - 1].msg;
  }
}

/** A server's reply to `req`. */
function reply(req: DhcpRepr, type: number, over: Partial<DhcpRepr> = {}): DhcpRepr {
  return {
    op: DhcpOp.BOOTREPLY,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: 0,
    yiaddr: type === T.NAK ? 0 : ADDR,
    siaddr: 0,
    giaddr: 0,
    chaddr: MAC,
    messageType: type,
    serverId: SERVER,
    ...(type === T.NAK ? {} : {
      leaseTime: 120,
      renewalTime: 60,
      rebindingTime: 105,
      subnetMask: ip("255.255.255.0"),
      routers: [SERVER],
      dnsServers: [SERVER],
      domainName: "lab.test",
      mtu: 1400,
    }),
    ...over,
  };
}

/** A bench that went through DISCOVER/OFFER/REQUEST/ACK and is BOUND at t = 1 s. */
function bound(opts: Partial<DhcpClientOptions> = {}, ack: Partial<DhcpRepr> = {}): Bench {
  const b = new Bench(opts);
  b.start();
  b.now = 500;
  b.receive(reply(b.last(), T.OFFER));
  b.now = 1000;
  b.receive(reply(b.last(), T.ACK, ack));
  return b;
}

// ---- SELECTING / REQUESTING (RFC 2131 §4.4.1) ----

Deno.test("INIT → SELECTING: a broadcast DISCOVER asking for the options the host uses", () => {
  const b = new Bench({ hostName: "serin" });
  const [a] = b.start();
  assert.equal(a.kind, "send");
  assert.equal(b.client.state, "SELECTING");
  const d = b.last();
  assert.equal(d.messageType, T.DISCOVER);
  assert.equal(d.op, DhcpOp.BOOTREQUEST);
  assert.equal(d.flags, DHCP_FLAG_BROADCAST);
  assert.equal(d.ciaddr, 0);
  assert.deepEqual(d.chaddr, MAC);
  assert.deepEqual(d.clientId, Uint8Array.of(1, ...MAC));
  assert.equal(d.hostName, "serin");
  assert.deepEqual(d.parameterRequestList, [1, 3, 6, 15, 26, 51, 58, 59]);
  assert.equal(b.sent()[0].to, "broadcast");
});

Deno.test("SELECTING → REQUESTING → BOUND: the lease has what the ACK said", () => {
  const b = new Bench();
  b.start();
  b.now = 300;
  const discover = b.last();
  b.receive(reply(discover, T.OFFER));
  assert.equal(b.client.state, "REQUESTING");
  const r = b.last();
  assert.equal(r.messageType, T.REQUEST);
  assert.equal(r.xid, discover.xid);
  assert.equal(r.requestedIp, ADDR);
  assert.equal(r.serverId, SERVER);
  assert.equal(r.ciaddr, 0);
  b.now = 400;
  const [bind] = b.receive(reply(r, T.ACK));
  assert.equal(bind.kind, "bind");
  assert.equal(b.client.state, "BOUND");
  assert.deepEqual(b.client.lease, {
    addr: ADDR,
    prefixLen: 24,
    serverId: SERVER,
    router: SERVER,
    dnsServers: [SERVER],
    domainName: "lab.test",
    mtu: 1400,
    leaseSecs: 120,
    t1Secs: 60,
    t2Secs: 105,
    acquiredAt: 300, // when the REQUEST left (RFC 2131 §4.4.1), not when the ACK came
  });
  assert.equal(b.client.nextDeadline(), 300 + 60_000);
});

Deno.test("§4.1: lost OFFERs: DISCOVER again after 4, 8, 16, 32, 64, 64 s, each ±1 s", () => {
  const b = new Bench();
  b.start();
  const actions = b.advance(300_000);
  const times = b.sent().map((s) => s.at);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  const expect = [4, 8, 16, 32, 64, 64];
  for (let i = 0; i < expect.length; i++) {
    assert.ok(Math.abs(gaps[i] - expect[i] * 1000) <= 1000, `gap ${i}: ${gaps[i]} ms`);
  }
  // One exchange: the same xid throughout, secs counting up.
  assert.equal(new Set(b.sent().map((s) => s.msg.xid)).size, 1);
  const secs = b.sent().map((s) => s.msg.secs);
  assert.deepEqual(secs, [...secs].sort((x, y) => x - y));
  assert.ok(secs[secs.length - 1] > 200);
  // The user hears that nobody answers.
  const logs = actions.filter((a) => a.kind === "log").map((a) => (a as { text: string }).text);
  assert.match(logs[0], /no DHCP server has answered 1 DISCOVER; trying again/);
});

Deno.test("§4.1: a lost ACK: REQUEST again after ~4 s; after 5 REQUESTs, back to DISCOVER", () => {
  const b = new Bench();
  b.start();
  b.receive(reply(b.last(), T.OFFER));
  const xid = b.last().xid;
  b.advance(5_000);
  assert.equal(b.sent().length, 3);
  assert.equal(b.last().messageType, T.REQUEST);
  b.advance(130_000);
  const kinds = b.sent().map((s) => s.msg.messageType);
  assert.deepEqual(kinds.slice(0, 7), [
    T.DISCOVER,
    T.REQUEST,
    T.REQUEST,
    T.REQUEST,
    T.REQUEST,
    T.REQUEST,
    T.DISCOVER,
  ]);
  assert.equal(b.client.state, "SELECTING");
  assert.notEqual(b.last().xid, xid);
  assert.equal(b.client.counters.get("request timed out"), 1);
});

Deno.test("§3.1.4: NAK while REQUESTING: start over at once; a second NAK waits 4 s", () => {
  const b = new Bench();
  b.start();
  b.receive(reply(b.last(), T.OFFER));
  const xid = b.last().xid;
  b.receive(reply(b.last(), T.NAK, { message: "wrong network" }));
  assert.equal(b.client.state, "SELECTING");
  assert.equal(b.last().messageType, T.DISCOVER);
  assert.notEqual(b.last().xid, xid);
  // A server that NAKs everything does not get a DISCOVER storm.
  b.receive(reply(b.last(), T.OFFER));
  b.receive(reply(b.last(), T.NAK));
  assert.equal(b.client.state, "INIT");
  const n = b.sent().length;
  b.advance(3_999);
  assert.equal(b.sent().length, n);
  b.advance(4_000);
  assert.equal(b.last().messageType, T.DISCOVER);
  assert.equal(b.client.counters.get("NAK"), 2);
});

// ---- Liars: replies that are not for us, or not possible ----

Deno.test("liars: wrong xid, wrong chaddr, malformed bytes and impossible offers are counted", () => {
  const b = new Bench();
  b.start();
  const d = b.last();
  const liars: Array<[DhcpRepr | Uint8Array, string]> = [
    [reply(d, T.OFFER, { xid: d.xid ^ 1 }), "wrong xid"],
    [reply(d, T.OFFER, { chaddr: Uint8Array.of(2, 0, 0, 0, 1, 1) }), "wrong chaddr"],
    [{ ...reply(d, T.OFFER), op: DhcpOp.BOOTREQUEST }, "not a reply"],
    [encodeDhcp(reply(d, T.OFFER)).subarray(0, 200), "malformed: truncated"],
    [reply(d, T.OFFER, { leaseTime: 0 }), "offer: impossible lease"],
    [reply(d, T.OFFER, { leaseTime: undefined }), "offer: impossible lease"],
    [reply(d, T.OFFER, { serverId: undefined }), "offer: no server id"],
    [reply(d, T.OFFER, { yiaddr: 0 }), "offer: bad address"],
    [reply(d, T.OFFER, { yiaddr: 0xffffffff }), "offer: bad address"],
    [reply(d, T.OFFER, { yiaddr: ip("127.0.0.5") }), "offer: bad address"],
    [reply(d, T.OFFER, { yiaddr: ip("224.0.0.1") }), "offer: bad address"],
    [reply(d, T.OFFER, { yiaddr: ip("10.9.0.255") }), "offer: bad address"], // the broadcast
    [reply(d, T.OFFER, { subnetMask: ip("255.0.255.0") }), "offer: bad netmask"],
    [reply(d, T.ACK), "unexpected ACK"],
    [reply(d, T.NAK), "unexpected NAK"],
    [reply(d, T.DECLINE), "unexpected message type"],
  ];
  for (const [m, why] of liars) {
    const before = b.client.counters.get(why) ?? 0;
    assert.deepEqual(b.receive(m), [], why);
    assert.equal(b.client.counters.get(why), before + 1, why);
    assert.equal(b.client.state, "SELECTING", why);
  }
  // The honest offer still works afterwards.
  b.receive(reply(d, T.OFFER));
  assert.equal(b.client.state, "REQUESTING");
});

Deno.test("liars: an ACK for another address or from another server does not bind", () => {
  const b = new Bench();
  b.start();
  b.receive(reply(b.last(), T.OFFER));
  const r = b.last();
  assert.deepEqual(b.receive(reply(r, T.ACK, { yiaddr: ip("10.9.0.51") })), []);
  assert.deepEqual(b.receive(reply(r, T.ACK, { serverId: ip("10.9.0.2") })), []);
  assert.deepEqual(b.receive(reply(r, T.NAK, { serverId: ip("10.9.0.2") })), []);
  assert.equal(b.client.state, "REQUESTING");
  assert.equal(b.client.counters.get("ack: not the address requested"), 1);
  assert.equal(b.client.counters.get("ack: wrong server"), 1);
  assert.equal(b.client.counters.get("nak: wrong server"), 1);
  b.receive(reply(r, T.ACK));
  assert.equal(b.client.state, "BOUND");
  // A replayed ACK in BOUND changes nothing.
  assert.deepEqual(b.receive(reply(r, T.ACK)), []);
});

Deno.test("§4.4.5: T1 and T2 that contradict the lease are fixed to lease/2 and 7/8", () => {
  const cases: Array<[Partial<DhcpRepr>, number, number]> = [
    [{ renewalTime: undefined, rebindingTime: undefined }, 60, 105],
    [{ renewalTime: 110, rebindingTime: 100 }, 60, 100], // T1 > T2
    [{ renewalTime: 30, rebindingTime: 500 }, 30, 105], // T2 > lease
    [{ renewalTime: 0, rebindingTime: 0 }, 60, 105],
    [{ leaseTime: 1000, renewalTime: 1000, rebindingTime: 1000 }, 500, 875],
  ];
  for (const [ack, t1, t2] of cases) {
    const l = bound({}, ack).client.lease!;
    assert.deepEqual([l.t1Secs, l.t2Secs], [t1, t2], JSON.stringify(ack));
  }
  const inf = bound({}, { leaseTime: 0xffffffff });
  assert.equal(inf.client.lease!.leaseSecs, Infinity);
  assert.equal(inf.client.nextDeadline(), undefined);
});

Deno.test("a router off the leased subnet is not used; a mask-less lease is classful", () => {
  const b = bound({}, { routers: [ip("192.168.1.1")], subnetMask: undefined });
  assert.equal(b.client.lease!.router, undefined);
  assert.equal(b.client.lease!.prefixLen, 8);
  assert.equal(b.client.counters.get("router off the subnet"), 1);
  assert.equal(maskPrefix(ip("255.255.255.0")), 24);
  assert.equal(maskPrefix(0), 0);
  assert.equal(maskPrefix(ip("255.0.255.0")), undefined);
});

// ---- BOUND → RENEWING → REBINDING → INIT (RFC 2131 §4.4.5) ----

Deno.test("T1: a unicast REQUEST to the server from the leased address", () => {
  const b = bound();
  const n = b.sent().length;
  b.advance(500 + 59_999);
  assert.equal(b.sent().length, n);
  b.advance(500 + 60_000);
  assert.equal(b.client.state, "RENEWING");
  const [s] = b.sent(b.log.length - 1);
  assert.equal(s.to, SERVER);
  assert.equal(s.msg.ciaddr, ADDR);
  assert.equal(s.msg.requestedIp, undefined); // MUST NOT in RENEWING (§4.3.2)
  assert.equal(s.msg.serverId, undefined);
  assert.equal(s.msg.flags, 0);
  assert.equal(s.msg.secs, 0);
  // The ACK renews: times now count from this REQUEST.
  b.now = 61_000;
  const [bind] = b.receive(reply(s.msg, T.ACK));
  assert.deepEqual(bind.kind === "bind" && bind.renewed, true);
  assert.equal(b.client.state, "BOUND");
  assert.equal(b.client.nextDeadline(), 60_500 + 60_000);
});

Deno.test("T2: no answer while RENEWING → broadcast REQUEST; expiry → unbind and DISCOVER", () => {
  const b = bound();
  const from = b.log.length;
  const acts = b.advance(200_000);
  const sent = b.sent(from);
  // Renewing at T1 (60.5 s); retransmission waits half of what is left to T2, at least 60 s,
  // which is T2 itself (105.5 s): rebinding, broadcast; then expiry at 120.5 s.
  assert.deepEqual(sent.slice(0, 2).map((s) => [s.at, s.to]), [
    [60_500, SERVER],
    [105_500, "broadcast"],
  ]);
  assert.equal(sent[1].msg.ciaddr, ADDR);
  const unbind = acts.find((a) => a.kind === "unbind");
  assert.ok(unbind && unbind.kind === "unbind" && unbind.reason === "lease expired");
  assert.equal(sent[2].at, 120_500);
  assert.equal(sent[2].msg.messageType, T.DISCOVER);
  assert.equal(b.client.lease, undefined);
});

Deno.test("REBINDING: any server's ACK extends the lease; a NAK drops it at once", () => {
  const b = bound();
  b.advance(106_000);
  assert.equal(b.client.state, "REBINDING");
  const req = b.last();
  b.receive(reply(req, T.ACK, { serverId: ip("10.9.0.2") }));
  assert.equal(b.client.state, "BOUND");
  assert.equal(b.client.lease!.serverId, ip("10.9.0.2"));
  b.advance(200_000);
  assert.equal(b.client.state, "RENEWING");
  const acts = b.receive(reply(b.last(), T.NAK, { serverId: ip("10.9.0.2") }));
  assert.deepEqual(acts.map((a) => a.kind), ["log", "unbind", "send"]);
  assert.equal(b.client.state, "SELECTING");
});

Deno.test("renewing to a different address unbinds the old one first", () => {
  const b = bound();
  b.advance(61_000);
  const acts = b.receive(reply(b.last(), T.ACK, { yiaddr: ip("10.9.0.77") }));
  assert.deepEqual(acts.map((a) => a.kind), ["unbind", "bind"]);
  assert.equal(b.client.lease!.addr, ip("10.9.0.77"));
});

// ---- RFC 5227 probing and DECLINE ----

Deno.test("RFC 5227: three probes 1–2 s apart after 0–1 s, bound 2 s after the last", () => {
  const b = bound({ arpProbe: true });
  assert.equal(b.client.state, "PROBING");
  b.advance(20_000);
  const probes = b.log.filter((e) => e.action.kind === "probe");
  const sends = probes.filter((e) => e.action.kind === "probe" && e.action.send);
  assert.equal(sends.length, ARP_TIMING.num);
  assert.ok(sends[0].at - 1000 <= ARP_TIMING.wait);
  for (let i = 1; i < sends.length; i++) {
    const gap = sends[i].at - sends[i - 1].at;
    assert.ok(gap >= ARP_TIMING.min && gap <= ARP_TIMING.max, `gap ${gap}`);
  }
  const bind = b.log.find((e) => e.action.kind === "bind")!;
  assert.equal(bind.at - sends[sends.length - 1].at, ARP_TIMING.announceWait);
  assert.ok(b.log.some((e) => e.action.kind === "probe-end"));
  assert.equal(b.client.state, "BOUND");
});

Deno.test("RFC 5227: an address in use is DECLINEd, and DISCOVER waits 10 s", () => {
  const b = new Bench({ arpProbe: true });
  b.start();
  b.receive(reply(b.last(), T.OFFER));
  b.receive(reply(b.last(), T.ACK));
  b.conflict = true;
  b.advance(1_500);
  const decline = b.last();
  assert.equal(decline.messageType, T.DECLINE);
  assert.equal(decline.requestedIp, ADDR);
  assert.equal(decline.serverId, SERVER);
  assert.equal(decline.ciaddr, 0);
  assert.equal(b.client.state, "INIT");
  assert.ok(!b.log.some((e) => e.action.kind === "bind"));
  const at = b.sent().at(-1)!.at;
  b.conflict = false;
  b.advance(at + DECLINE_WAIT_MS - 1);
  assert.equal(b.last().messageType, T.DECLINE);
  b.advance(at + DECLINE_WAIT_MS);
  assert.equal(b.last().messageType, T.DISCOVER);
});

// ---- Release (RFC 2131 §4.4.6) ----

Deno.test("release: a unicast RELEASE from the leased address, then unbind; then nothing", () => {
  const b = bound();
  const acts = b.client.release(b.now);
  assert.deepEqual(acts.map((a) => a.kind), ["send", "unbind"]);
  const s = acts[0].kind === "send" ? acts[0] : undefined;
  assert.equal(s?.to, SERVER);
  assert.equal(s?.msg.messageType, T.RELEASE);
  assert.equal(s?.msg.ciaddr, ADDR);
  assert.equal(s?.msg.serverId, SERVER);
  assert.equal(b.client.state, "STOPPED");
  assert.equal(b.client.nextDeadline(), undefined);
  // Nothing to give back before a lease; while probing, the netstack stops watching.
  const fresh = new Bench();
  fresh.start();
  assert.deepEqual(fresh.client.release(0), []);
  const probing = bound({ arpProbe: true });
  assert.deepEqual(probing.client.release(1000), [{ kind: "probe-end", addr: ADDR }]);
});

Deno.test("§4.4.1: an ACK to a retransmitted REQUEST counts the lease from the first one", () => {
  const b = new Bench();
  b.start();
  b.now = 100;
  b.receive(reply(b.last(), T.OFFER)); // REQUEST at 100 ms
  b.advance(6_000); // retransmitted at ~4.1 s
  assert.equal(b.sent().filter((s) => s.msg.messageType === T.REQUEST).length, 2);
  b.receive(reply(b.last(), T.ACK));
  assert.equal(b.client.lease!.acquiredAt, 100);
  // Renewing: the same, from the first renewal REQUEST (at T1; again 187.5 s later, half the
  // time left to T2).
  const r = bound({}, { leaseTime: 1000, renewalTime: 500, rebindingTime: 875 });
  r.advance(700_000);
  const renewals = r.sent().filter((s) => s.msg.ciaddr === ADDR);
  assert.deepEqual(renewals.map((s) => s.at), [500_500, 688_000]);
  assert.equal(renewals[0].msg.xid, renewals[1].msg.xid);
  r.receive(reply(r.last(), T.ACK, { leaseTime: 1000, renewalTime: 500, rebindingTime: 875 }));
  assert.equal(r.client.lease!.acquiredAt, 500_500);
});
