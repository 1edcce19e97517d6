import assert from "node:assert/strict";
import { parseScript } from "./parse.ts";
import { ScriptError } from "./script.ts";
import { toCall } from "./calls.ts";

const parse = (text: string) => parseScript(text, "t.pkt");
const one = (line: string) => parse(line).events[0];

Deno.test("parse: times absolute, relative, any and blocking ranges", () => {
  const s = parse(
    "0 close(3) = 0\n+0.1 close(3) = 0\n0.300 close(3) = 0\n* > . 1:1(0) ack 1\n" +
      "+0...0.2 read(4, ..., 10) = 10\n+.5...+1 read(4, ..., 10) = 10",
  );
  assert.deepEqual(s.events.map((e) => e.time), [
    { kind: "abs", ms: 0 },
    { kind: "rel", ms: 100 },
    { kind: "abs", ms: 300 },
    { kind: "any" },
    { kind: "rel", ms: 0 },
    { kind: "rel", ms: 500 },
  ]);
  const ends = s.events.map((e) => e.action.type === "call" ? e.action.end : undefined);
  assert.deepEqual(ends[4], { kind: "abs", ms: 200 });
  assert.deepEqual(ends[5], { kind: "rel", ms: 1000 });
});

Deno.test("parse: an inbound SYN with its options in order", () => {
  const e = one("0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
  assert.equal(e.action.type, "packet");
  if (e.action.type !== "packet") return;
  assert.equal(e.action.dir, "<");
  assert.equal(e.action.flags, 0x02);
  assert.equal(e.action.win, 32792);
  assert.deepEqual(e.action.options, [
    { kind: "mss", value: 1000 },
    { kind: "sackOK" },
    { kind: "nop" },
    { kind: "nop" },
    { kind: "nop" },
    { kind: "wscale", value: 7 },
  ]);
});

Deno.test("parse: outbound segments, any options, wildcards, TS and SACK blocks", () => {
  const a = one("0 > S. 0:0(0) ack 1 <...>").action;
  assert.ok(a.type === "packet" && a.options === "any" && a.flags === 0x12 && a.ack === 1);
  const b = one("0 > . 1:1001(1000) ack 1 <nop,nop,TS val 5 ecr 7,wscale *>").action;
  assert.ok(b.type === "packet");
  assert.deepEqual(b.options, [{ kind: "nop" }, { kind: "nop" }, { kind: "TS", val: 5, ecr: 7 }, {
    kind: "wscale",
    value: undefined,
  }]);
  assert.equal(b.len, 1000);
  const c = one("0 < . 1:1(0) ack 1 win 257 <sack 1001:2001 3001:4001>").action;
  assert.ok(c.type === "packet");
  assert.deepEqual(c.options, [{ kind: "sack", blocks: [[1001, 2001], [3001, 4001]] }]);
  const d = one("0 > PU. 1:2(1) ack 1 urg 1").action;
  assert.ok(d.type === "packet" && d.flags === (0x08 | 0x20 | 0x10) && d.urg === 1);
});

Deno.test("parse: calls with errno and text, structs, lists and or-ed flags", () => {
  const e = one("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)").action;
  assert.ok(e.type === "call" && e.ret === -1 && e.errno === "EINPROGRESS");
  const p = one("0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1").action;
  assert.ok(p.type === "call");
  const { call, expect } = toCall(p, "ipv4");
  assert.deepEqual(call, { op: "poll", fds: [{ fd: 4, events: 5 }], timeout: 0 });
  assert.deepEqual(expect.revents, [1]);
  const l = one("0 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0").action;
  assert.ok(l.type === "call");
  assert.deepEqual(toCall(l, "ipv4").call, {
    op: "setsockopt",
    fd: 4,
    level: 1,
    name: 13,
    value: [1, 0],
  });
  const s = one("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3").action;
  assert.ok(s.type === "call");
  assert.deepEqual(toCall(s, "ipv6").call, { op: "socket", domain: 10, type: 1, protocol: 6 });
  const g = one("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0").action;
  assert.ok(g.type === "call");
  assert.equal(toCall(g, "ipv4").expect.value, 111);
});

Deno.test("parse: comments, options and serin-differs markers", () => {
  const s = parse([
    "# about this script",
    "--ip=ipv6",
    "--mtu=1280",
    "# serin-differs: the whole script",
    "0 close(3) = 0 // trailing comment",
    "+0 close(4) = 0 # serin-differs: this line",
    "# serin-differs: the next line",
    "+0 close(5) = 0",
    "+0 close(6) = 0",
  ].join("\n"));
  assert.equal(s.options.ip, "ipv6");
  assert.equal(s.options.mtu, 1280);
  assert.equal(s.serinDiffers, "the whole script");
  assert.deepEqual(s.events.map((e) => e.serinDiffers), [
    undefined,
    "this line",
    "the next line",
    undefined,
  ]);
  assert.deepEqual(s.events.map((e) => e.line), [5, 6, 8, 9]);
});

Deno.test("parse: errors name the line", () => {
  const bad: Array<[string, RegExp]> = [
    ["0 close(3) = 0\n+0 frobnicate(3) = 0", /t\.pkt:2: unknown call "frobnicate"/],
    ["0 < X 0:0(0)", /t\.pkt:1: unknown flag "X"/],
    ["0 < S 0:1(0)", /end - start is not len/],
    ["0 < S 0:0(0) <mss>", /mss needs a number/],
    ["0 < S 0:0(0) <frob 3>", /unknown option "frob 3"/],
    ["0 < S 0:0(0) wnd 5", /unknown segment field "wnd"/],
    ["0 read(4, ..., 10) = -1", /needs an errno/],
    ["0 close(3) = 0\n--mtu=1000", /t\.pkt:2: options go before/],
    ["--colour=red\n0 close(3) = 0", /unknown option --colour/],
    ["soon close(3) = 0", /bad time "soon"/],
    ["0...1 > . 1:1(0) ack 1", /only a call may have an end time/],
    ["0 close(3) = 0 # serin-differs:", /needs a reason/],
    ["# nothing", /no events/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parse(text),
      (e: unknown) => e instanceof ScriptError && re.test(e.message),
    );
  }
});
