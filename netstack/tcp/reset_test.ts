import assert from "node:assert/strict";
import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { resetReplyFor } from "./reset.ts";

const base: TcpRepr = {
  srcPort: 1234,
  dstPort: 80,
  seq: 0xffff_ffff,
  ack: 0,
  flags: 0,
  window: 0,
  urgent: 0,
  options: {},
  payload: new Uint8Array(3),
};

// RFC 9293 §3.10.7.1: no ACK → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
Deno.test("reset: a SYN+FIN with data is answered with RST,ACK covering all of it", () => {
  const rst = resetReplyFor({ ...base, flags: TcpFlag.SYN | TcpFlag.FIN });
  assert.deepEqual(
    rst && { src: rst.srcPort, dst: rst.dstPort, seq: rst.seq, ack: rst.ack, f: rst.flags },
    { src: 80, dst: 1234, seq: 0, ack: 4, f: TcpFlag.RST | TcpFlag.ACK },
  );
});

// RFC 9293 §3.10.7.1: ACK set → <SEQ=SEG.ACK><CTL=RST>.
Deno.test("reset: an ACK is answered with RST at its ack number; RST gets nothing", () => {
  const rst = resetReplyFor({ ...base, flags: TcpFlag.ACK, ack: 77 });
  assert.equal(rst?.seq, 77);
  assert.equal(rst?.flags, TcpFlag.RST);
  assert.equal(resetReplyFor({ ...base, flags: TcpFlag.RST }), undefined);
});
