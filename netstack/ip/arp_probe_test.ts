import assert from "node:assert/strict";
import { ArpProbes } from "./arp_probe.ts";
import { ArpOp, type ArpRepr } from "../wire/arp.ts";

const OWN = Uint8Array.of(2, 0, 0, 0, 0, 1);
const OTHER = Uint8Array.of(2, 0, 0, 0, 0, 2);
const ADDR = 0x0a000007;

function arp(op: number, senderMac: Uint8Array, senderIp: number, targetIp: number): ArpRepr {
  return { op, senderMac, senderIp, targetMac: new Uint8Array(6), targetIp };
}

Deno.test("RFC 5227 §2.1.1: any ARP packet from the probed address is a conflict", () => {
  for (const op of [ArpOp.REQUEST, ArpOp.REPLY]) {
    const p = new ArpProbes();
    p.watch(ADDR);
    p.input(arp(op, OTHER, 0x0a000001, ADDR), OWN); // someone asking for it: not a claim
    assert.equal(p.claimed(ADDR), false);
    p.input(arp(op, OTHER, ADDR, 0), OWN); // the owner's reply to our probe, to 0.0.0.0
    assert.equal(p.claimed(ADDR), true);
  }
});

Deno.test("RFC 5227 §2.1.1: another host's probe for the same address is a conflict; ours is not", () => {
  const p = new ArpProbes();
  p.watch(ADDR);
  p.input(arp(ArpOp.REQUEST, OWN, 0, ADDR), OWN); // our own probe, looped back
  assert.equal(p.claimed(ADDR), false);
  p.input(arp(ArpOp.REQUEST, OTHER, 0, ADDR), OWN);
  assert.equal(p.claimed(ADDR), true);
  // Watching again does not forget; ending does.
  p.watch(ADDR);
  assert.equal(p.claimed(ADDR), true);
  p.end(ADDR);
  assert.equal(p.claimed(ADDR), false);
  p.input(arp(ArpOp.REPLY, OTHER, ADDR, 0), OWN); // not watched any more
  assert.equal(p.claimed(ADDR), false);
});
