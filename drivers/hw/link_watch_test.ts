import assert from "node:assert/strict";
import { LinkWatch } from "./link_watch.ts";

Deno.test("link watch: starts down and reports only real changes", () => {
  const w = new LinkWatch();
  const seen: boolean[] = [];
  w.listen((up) => seen.push(up));
  assert.equal(w.up, false);
  w.update(false);
  w.update(true);
  w.update(true);
  w.update(false);
  assert.deepEqual(seen, [true, false]);
  assert.equal(w.up, false);
});

Deno.test("link watch: setting the state directly reports nothing", () => {
  const w = new LinkWatch();
  const seen: boolean[] = [];
  w.listen((up) => seen.push(up));
  w.up = true;
  w.update(true);
  assert.deepEqual(seen, []);
});
