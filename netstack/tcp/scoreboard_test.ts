import assert from "node:assert/strict";
import { SackScoreboard } from "./scoreboard.ts";

Deno.test("scoreboard: merges blocks and ignores bogus ones", () => {
  const s = new SackScoreboard();
  s.update(100, 1000, [[300, 400], [200, 250], [50, 150], [900, 1100]]);
  assert.deepEqual(s.blocks, [[200, 250], [300, 400]]);
  s.update(100, 1000, [[250, 300]]);
  assert.deepEqual(s.blocks, [[200, 400]]);
  s.update(300, 1000, []);
  assert.deepEqual(s.blocks, [[300, 400]]);
});

// RFC 6675 §4 IsLost: more than (DupThresh-1)*SMSS bytes SACKed above, or DupThresh blocks.
Deno.test("scoreboard: IsLost and holes", () => {
  const s = new SackScoreboard();
  s.update(0, 10_000, [[100, 300]]);
  assert.ok(!s.isLost(0, 100));
  s.update(0, 10_000, [[300, 400]]);
  assert.ok(s.isLost(0, 100));
  assert.deepEqual(s.holes(0, 500), [[0, 100], [400, 500]]);
  assert.deepEqual(s.nextLost(0, 500, 0, 100), [0, 100]);
  assert.equal(s.nextLost(0, 500, 100, 100), undefined);
});

// RFC 6675 §4 SetPipe: lost bytes leave the pipe, retransmitted ones come back.
Deno.test("scoreboard: pipe", () => {
  const s = new SackScoreboard();
  s.update(0, 600, [[100, 400]]);
  assert.equal(s.pipe(0, 600, 0, 100), 200);
  assert.equal(s.pipe(0, 600, 100, 100), 300);
});

Deno.test("scoreboard: works across the sequence wrap", () => {
  const s = new SackScoreboard();
  const una = 0xffff_ff00;
  s.update(una, 0x1000, [[0x10, 0x200]]);
  assert.deepEqual(s.holes(una, 0x300), [[una, 0x10], [0x200, 0x300]]);
});
