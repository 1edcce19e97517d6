/** `deno task run` (tools/boot.ts) as users run it, as a subprocess. */
import assert from "node:assert/strict";

const run = (args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/boot.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("deno task run --exec: the program runs once the service says it is listening", async () => {
  // The service takes 1 s to listen: run at once, nc would be refused.
  const r = await run([
    "--exec",
    "tests/programs/slow_listener.ts 7070 1000",
    "--",
    "nc",
    "-z",
    "-v",
    "127.0.0.1",
    "7070",
  ]);
  const shown = text(r.stdout) + text(r.stderr);
  assert.equal(r.code, 0, shown);
  assert.match(
    shown,
    /listening on 7070\n[^]*Connection to 127\.0\.0\.1 7070 port \[tcp\/\*\] succeeded!/,
  );
});

Deno.test("deno task run --exec: a service that exits at once does not stop the program", async () => {
  const r = await run(["--exec", "echo -p 70000", "--", "nc", "-z", "127.0.0.1", "7"]);
  assert.equal(r.code, 1, text(r.stdout) + text(r.stderr));
  assert.match(text(r.stderr), /echo: invalid port: '70000'/);
});
