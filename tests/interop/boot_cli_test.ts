/**
 * The command line end to end: `deno run -A tools/boot.ts --tap IF --addr CIDR --gw IP -- ping
 * -c 3 IP` as a subprocess (what `deno task run` runs), its TAP moved into the namespace once
 * the subprocess has opened it.
 */
import assert from "node:assert/strict";
import { interopTest, TapLab, Watched } from "./_lab.ts";

interopTest("interop: `deno task run --tap ... -- ping` pings Linux", [], async () => {
  await using lab = await TapLab.create();
  const child = new Watched(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "tools/boot.ts",
        "--tap",
        lab.tap,
        "--addr",
        `${lab.serinAddr}/24`,
        "--gw",
        lab.linuxAddr,
        "--",
        "ping",
        "-c",
        "3",
        lab.linuxAddr,
      ],
      cwd: new URL("../..", import.meta.url).pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  try {
    await lab.waitAttached(child.child.pid);
    await lab.enterNamespace();
    const timer = setTimeout(() => void child.kill(), 25_000);
    const code = await child.finished();
    clearTimeout(timer);
    const shown = `stdout:\n${child.text}\nstderr:\n${child.stderr}`;
    assert.equal(code, 0, shown);
    assert.ok(
      child.text.includes(`PING ${lab.linuxAddr} (${lab.linuxAddr}) 56(84) bytes of data.`),
      shown,
    );
    assert.match(child.text, /3 packets transmitted, 3 received, 0% packet loss/, shown);
  } finally {
    await child.kill();
  }
});
