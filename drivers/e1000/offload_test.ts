/**
 * 8254x transmit offloads: TSO through context and data descriptors (the driver's super-segment
 * path, cut into MSS segments with valid checksums), checksum insertion from a context (TXSM,
 * IXSM) and from a legacy descriptor (CSO/CSS), and hostile contexts counted and dropped.
 */
import assert from "node:assert/strict";
import { memoryLinkPair } from "../hw/frame_pump.ts";
import { DmaMemory } from "../hw/dma.ts";
import { MmioWindow } from "../hw/mmio.ts";
import { tcpChecksumsValid, tcpFrame, tcpPayload } from "../link/_tcp_frames.ts";
import { E1000Device } from "./device.ts";
import { E1000Driver } from "./driver.ts";
import { REG, WRITE_TABLE } from "./registers.ts";
import {
  DESC_SIZE,
  POPTS,
  TUCMD,
  type TxContext,
  TXD_CMD,
  writeTxContext,
  writeTxData,
  writeTxDesc,
} from "./descriptors.ts";

const MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

/** A device and its initialised driver; `sent` collects what reaches the cable. */
function setUp() {
  const [la, lb] = memoryLinkPair();
  const sent: Uint8Array[] = [];
  lb.onFrame((f) => sent.push(f));
  const dev = new E1000Device(la, { mac: MAC });
  const drv = new E1000Driver(dev.resources, { spin: () => dev.service() });
  drv.init();
  const regs = new MmioWindow(dev.resources.mmio, dev.resources.control, WRITE_TABLE);
  const dma = new DmaMemory(dev.resources.dma);
  // Hand-written descriptors go at TDT; their buffer sits at the end of DMA memory.
  const buf = dev.resources.dma.byteLength - 70_000;
  let tail = regs.read(REG.TDT);
  const count = regs.read(REG.TDLEN) / DESC_SIZE;
  const desc = () => regs.read(REG.TDBAL) + tail * DESC_SIZE;
  const next = () => (tail = (tail + 1) % count);
  const kick = () => {
    regs.write(REG.TDT, tail);
    dev.service();
  };
  /** Queue a context descriptor. */
  const context = (c: Partial<TxContext>) => {
    writeTxContext(dma, desc(), { ...TCP4_CTX, ...c });
    next();
  };
  /** Queue `frame` as one data descriptor. */
  const data = (frame: Uint8Array, popts: number, tse: boolean) => {
    dma.bytes.set(frame, buf);
    const dcmd = TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS | (tse ? TUCMD.TSE : 0);
    writeTxData(dma, desc(), buf, frame.length, dcmd, popts);
    next();
    kick();
  };
  /** Queue `frame` as one legacy descriptor with checksum insertion at CSO from CSS. */
  const legacy = (frame: Uint8Array, css: number, cso: number) => {
    dma.bytes.set(frame, buf);
    const d = desc();
    writeTxDesc(dma, d, buf, frame.length, TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS | TXD_CMD.IC);
    dma.bytes[d + 10] = cso;
    dma.bytes[d + 13] = css;
    next();
    kick();
  };
  return { dev, drv, sent, context, data, legacy };
}

/** A TSO context for a TCP/IPv4 frame from tcpFrame (32-byte TCP header). */
const TCP4_CTX: TxContext = {
  ipcss: 14,
  ipcso: 24,
  ipcse: 33,
  tucss: 34,
  tucso: 50,
  tucse: 0,
  paylen: 0,
  tucmd: TUCMD.TCP | TUCMD.IP | TUCMD.TSE,
  hdrLen: 66,
  mss: 1448,
};

for (const v of [4, 6] as const) {
  Deno.test(`e1000 offload: a TCP/IPv${v} super-segment leaves as MSS segments with valid checksums`, () => {
    const s = setUp();
    const big = tcpFrame(v, 40_000, { flags: 0x19 }); // ACK PSH FIN
    assert.equal(s.drv.transmit(big), true);
    s.dev.service();
    const mss = 1500 - (v === 4 ? 20 : 40) - 32;
    assert.equal(s.sent.length, Math.ceil(40_000 / mss));
    assert.ok(s.sent.every((f) => f.length <= 1514 && tcpChecksumsValid(f)));
    const joined = new Uint8Array(s.sent.flatMap((f) => [...tcpPayload(f)]));
    assert.deepEqual(joined, tcpPayload(big));
    assert.deepEqual(s.dev.stats.drops, {});
    // Descriptors are reclaimed: 30 more super-segments go through a 256-entry ring.
    for (let i = 0; i < 30; i++) {
      while (!s.drv.transmit(big)) {
        s.dev.service();
        s.drv.handleInterrupt();
      }
    }
    s.dev.service();
    assert.equal(s.sent.length, 31 * Math.ceil(40_000 / mss));
  });
}

Deno.test("e1000 offload: TXSM/IXSM from a context and IC on a legacy descriptor insert checksums", () => {
  const s = setUp();
  const good = tcpFrame(4, 300);
  // The driver leaves the pseudo-header sum in the TCP field: recover it from a valid frame.
  const partial = good.slice();
  partial[24] = partial[25] = 0; // IP checksum to be inserted
  partial[50] = partial[51] = 0;
  const seg = _fold(_sum(partial.subarray(34)));
  const valid = (good[50] << 8) | good[51];
  const pseudo = _fold((~valid & 0xffff) + (~seg & 0xffff));
  partial[50] = pseudo >>> 8;
  partial[51] = pseudo & 0xff;
  assert.equal(tcpChecksumsValid(partial), false);
  s.context({ tucmd: TUCMD.TCP | TUCMD.IP });
  s.data(partial, POPTS.TXSM | POPTS.IXSM, false);
  assert.deepEqual(s.sent[0], good);
  s.legacy(partial.slice().fill(0, 24, 26).map((b, i) => i === 24 || i === 25 ? 0 : b), 34, 50);
  assert.equal(s.sent.length, 2);
  assert.deepEqual(s.sent[1].subarray(34), good.subarray(34));
  assert.deepEqual(s.dev.stats.drops, {});
});

Deno.test("e1000 offload: hostile contexts and offsets are counted and dropped", () => {
  const s = setUp();
  const big = tcpFrame(4, 5000);
  const paylen = big.length - 66;
  const cases: Array<[string, Partial<TxContext>]> = [
    ["tx-tso-mss-zero", { mss: 0, paylen }],
    ["tx-tso-bad-paylen", { paylen: paylen + 1 }],
    ["tx-tso-bad-hdrlen", { hdrLen: 0, paylen }],
    ["tx-tso-bad-headers", { hdrLen: 54, paylen: big.length - 54 }],
    ["tx-tso-bad-headers", { tucso: 40, paylen }],
    ["tx-tso-not-tcp", { tucmd: TUCMD.IP | TUCMD.TSE, paylen }],
    ["tx-tso-mss-too-big", { mss: 60_000, paylen }],
  ];
  for (const [reason, c] of cases) {
    const before = s.dev.stats.drops[reason] ?? 0;
    s.context(c);
    s.data(big, POPTS.TXSM, true);
    assert.equal(s.dev.stats.drops[reason], before + 1, `${reason} ${JSON.stringify(c)}`);
  }
  s.context({ tucmd: TUCMD.TCP | TUCMD.IP, tucso: 250 }); // beyond a 100-byte frame
  s.data(tcpFrame(4, 20), POPTS.TXSM, false);
  assert.equal(s.dev.stats.drops["tx-bad-checksum-context"], 1);
  s.legacy(tcpFrame(4, 20), 34, 200);
  assert.equal(s.dev.stats.drops["tx-bad-checksum-offset"], 1);
  s.context({ tucmd: TUCMD.TCP | TUCMD.IP }); // no TSE in the context
  s.data(big, POPTS.TXSM, true);
  assert.equal(s.dev.stats.drops["tx-no-tso-context"], 1);
  assert.equal(s.sent.length, 0);
  // The next honest super-segment still goes out.
  s.context({ paylen });
  s.data(big, POPTS.TXSM | POPTS.IXSM, true);
  assert.equal(s.sent.length, 4);
  assert.ok(s.sent.every(tcpChecksumsValid));
});

function _sum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (b.length & 1) s += b[b.length - 1] << 8;
  return s;
}

function _fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}
