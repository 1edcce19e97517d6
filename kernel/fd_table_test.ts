import assert from "node:assert/strict";
import { FdTable } from "./fd_table.ts";
import type { HandleBase } from "./handle.ts";
import { WaitQueue } from "./wait_queue.ts";
import { ErrnoError } from "./errno.ts";

function handle(log: string[], name: string): HandleBase {
  return { refs: 0, nonblock: false, wq: new WaitQueue(), release: () => log.push(name) };
}

Deno.test("fds are allocated lowest-free first and released with the last reference", () => {
  const log: string[] = [];
  const t = new FdTable(8);
  const a = handle(log, "a");
  assert.equal(t.install(a), 0);
  assert.equal(t.install(handle(log, "b")), 1);
  assert.equal(t.install(a), 2);
  t.close(0);
  assert.equal(t.install(handle(log, "c")), 0);
  assert.deepEqual(log, []);
  t.close(2);
  assert.deepEqual(log, ["a"]);
  assert.equal(t.dup2(1, 5), 5);
  t.close(1);
  assert.deepEqual(log, ["a"]);
  t.closeAll();
  assert.deepEqual(log.sort(), ["a", "b", "c"]);
  assert.equal(t.size, 0);
});

Deno.test("the fd limit gives EMFILE, foreign or forged fds give EBADF", () => {
  const t = new FdTable(2);
  t.install(handle([], "x"));
  t.install(handle([], "y"));
  assert.throws(() => t.install(handle([], "z")), (e: ErrnoError) => e.code === "EMFILE");
  for (const bad of [2, -1, 1.5, "0", 99999]) {
    assert.throws(() => t.get(bad), (e: ErrnoError) => e.code === "EBADF");
  }
  assert.throws(() => t.close(7), (e: ErrnoError) => e.code === "EBADF");
});
