/**
 * Unprivileged by default: `deno task run -- prog` (tools/boot.ts, run here as a subprocess) runs
 * programs as uid 1000 with no capabilities; Serin's tools that need a capability carry it as a
 * file capability (ping: net_raw), services started with `--exec` get net_bind_service, `--caps`
 * adds capabilities and `--root` gives them all. A user's program never gets a tool's file
 * capabilities, not even by running the tool's code under its own name.
 */
import assert from "node:assert/strict";
import { boot } from "../../kernel/mod.ts";
import { runShell } from "../../tools/shell.ts";

const WHOAMI = "tests/security/programs/res_whoami.ts";
const FAKE_PING = "tests/security/programs/res_fake_ping.ts";

/** Run tools/boot.ts with `args`; resolves to its exit code and output. */
async function serin(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "tools/boot.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("deno task run: uid 1000 without capabilities; ping still works; --root, --caps and --exec grant more", async () => {
  const [user, ping, root, admin, bogus, service] = await Promise.all([
    serin("--", WHOAMI, "spawn", "arp", "-s", "10.0.0.9", "02:00:00:00:00:09"),
    serin("--", "ping", "-c", "1", "-W", "2", "127.0.0.1"),
    serin("--root", "--", WHOAMI),
    serin(
      "--caps",
      "net_admin",
      "--",
      WHOAMI,
      "spawn",
      "arp",
      "-s",
      "10.0.0.9",
      "02:00:00:00:00:09",
    ),
    serin("--caps", "net_admin,root", "--", WHOAMI),
    serin("--exec", WHOAMI, "--for", "5"),
  ]);
  // Nothing by default: no raw socket, no port below 1024, no network configuration.
  assert.match(user.out, /^uid 1000 caps - raw EPERM bind80 EACCES$/m, user.out);
  assert.match(user.out, /operation not permitted/i, user.out);
  assert.notEqual(user.code, 0, user.out);
  // ping carries net_raw, as `setcap cap_net_raw+ep` gives it on Linux.
  assert.equal(ping.code, 0, ping.out);
  assert.match(ping.out, /1 packets transmitted, 1 received/);
  assert.equal(root.code, 0, root.out);
  assert.match(root.out, /^uid 0 caps net_bind_service,net_raw,net_admin raw ok bind80 ok$/m);
  // --caps net_admin: the program and its child (which inherits it) may change the network.
  assert.equal(admin.code, 0, admin.out);
  assert.match(admin.out, /^uid 1000 caps net_admin raw EPERM bind80 EACCES$/m);
  assert.equal(bogus.code, 2);
  assert.match(bogus.out, /--caps: unknown capability root/);
  assert.equal(service.code, 0, service.out);
  assert.match(service.out, /^uid 1000 caps net_bind_service raw EPERM bind80 ok$/m);
});

Deno.test("file capabilities belong to the tool's module: a user's copy of ping gets none", async () => {
  await using sys = await boot({
    output: () => {},
    net: { hosts: [{ name: "h", ifaces: [{ link: "lan", addrs: ["10.0.0.1/24"] }] }] },
  });
  const opts = { host: "h", uid: 1000 };
  const ping = await sys.run("ping", ["-c", "1", "-W", "2", "127.0.0.1"], opts);
  assert.equal(ping.status, 0, ping.stderr);
  // The same code under another module name: no net_raw, whoever runs it (root included).
  for (const uid of [1000, 0]) {
    const fake = await sys.run(FAKE_PING, ["-c", "1", "-W", "2", "127.0.0.1"], { ...opts, uid });
    assert.notEqual(fake.status, 0);
    assert.match(fake.stderr + fake.stdout, /operation not permitted/i);
  }
  // A program that starts ping gets ping to work, and keeps nothing of ping's capability itself.
  const parent = await sys.run(WHOAMI, ["spawn", "ping", "-c", "1", "-W", "2", "127.0.0.1"], opts);
  assert.equal(parent.status, 0, parent.stderr);
  assert.match(parent.stdout, /^uid 1000 caps - raw EPERM bind80 EACCES$/m);
  assert.match(parent.stdout, /1 packets transmitted, 1 received/);
  // A capability the embedder gives passes on to children (as Linux's ambient set does).
  const both = await sys.run(WHOAMI, ["spawn", WHOAMI], { ...opts, caps: ["net_raw"] });
  assert.equal(both.stdout.match(/^uid 1000 caps net_raw raw ok bind80 EACCES$/gm)?.length, 2);
});

Deno.test("the shell runs programs as its user, and its kill refuses another user's processes", async () => {
  let out = "";
  const dec = new TextDecoder();
  await using sys = await boot({
    output: (_pid, _fd, data) => out += dec.decode(data),
    net: { hosts: [{ name: "h" }] },
  });
  const rootPid = await sys.start("tests/security/programs/res_forkbomb.ts", ["hold"], {
    host: "h",
  });
  let shell = "";
  const input = new Blob([`${WHOAMI}\nkill ${rootPid}\nexit\n`]).stream();
  await runShell(sys, { hosts: ["h"], caps: [], input, write: (t) => shell += t, raw: false });
  assert.match(out, /^uid 1000 caps - raw EPERM bind80 EACCES$/m);
  assert.match(shell, new RegExp(`kill: \\(${rootPid}\\) - Operation not permitted`));
  assert.ok((await sys.ps()).some((p) => p.pid === rootPid), "the shell killed root's process");
});
