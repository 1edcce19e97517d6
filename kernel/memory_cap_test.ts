import assert from "node:assert/strict";
import {
  defaultMemoryCap,
  MAX_DEFAULT_MEMORY_CAP,
  memoryCap,
  overMemoryCap,
  RSS_SAMPLE_MS,
  setMemoryCap,
  systemRss,
} from "./memory_cap.ts";

Deno.test("memory cap: min(8 GiB, 60% of the RAM), set per worker, compared with a sampled RSS", () => {
  const total = Deno.systemMemoryInfo().total;
  assert.equal(defaultMemoryCap(), Math.min(MAX_DEFAULT_MEMORY_CAP, Math.floor(total * 0.6)));
  assert.throws(() => setMemoryCap(0), RangeError);
  assert.throws(() => setMemoryCap(NaN), RangeError);
  const before = memoryCap();
  try {
    setMemoryCap(1);
    assert.equal(overMemoryCap(), true);
    setMemoryCap(Number.MAX_SAFE_INTEGER);
    assert.equal(overMemoryCap(), false);
    // One sample serves every call within RSS_SAMPLE_MS.
    const t = performance.now() + 1e6;
    const rss = systemRss(t);
    const junk = new Uint8Array(64 << 20).fill(1);
    assert.equal(systemRss(t + RSS_SAMPLE_MS - 1), rss);
    // (Past it a new sample is taken; other test files share this process's RSS, so how much
    // it moved is not checked.)
    assert.ok(systemRss(t + RSS_SAMPLE_MS) > 0 && junk.length > 0);
  } finally {
    setMemoryCap(before);
  }
});
