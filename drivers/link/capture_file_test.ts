import assert from "node:assert/strict";
import {
  TSHARK_CHECKSUM_PREFS,
  tsharkFields,
  tsharkProblems,
  tsharkTest,
} from "../../tests/tshark.ts";
import { openCapture } from "./capture_file.ts";
import { memoryLinkPair } from "../hw/frame_pump.ts";
import { tcpFrame } from "./_tcp_frames.ts";

tsharkTest(
  "capture file: a TCP super-segment is written as MTU-sized segments, tshark clean",
  async () => {
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      const cap = await openCapture(path);
      const [a, b] = memoryLinkPair();
      const got: Uint8Array[] = [];
      b.onFrame((f) => got.push(f));
      const port = cap.wrap(a, ["out"]);
      const big = tcpFrame(6, 20_000);
      port.send(big);
      cap.close();
      assert.deepEqual(got, [big]); // the cable still carries it whole
      const n = Math.ceil(20_000 / (1500 - 40 - 32));
      assert.equal(cap.frames, n);
      assert.deepEqual(await tsharkProblems(path, TSHARK_CHECKSUM_PREFS), []);
      const lens = await tsharkFields(path, ["frame.len"]);
      assert.equal(lens.length, n);
      assert.ok(lens.every((f) => Number(f["frame.len"][0]) <= 1514));
    } finally {
      await Deno.remove(path);
    }
  },
);
