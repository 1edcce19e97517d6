/**
 * The shell as a person uses it: in a real terminal (tmux), typing commands, pressing Ctrl-C
 * and the arrow keys, reading the screen. Skipped loudly without tmux.
 */
import assert from "node:assert/strict";

const haveTmux = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();
if (!haveTmux) console.error("SKIPPED: `tmux` not installed (the shell under tmux)");

/**
 * A tmux server of the test's own: not the user's (their ~/.tmux.conf, key bindings and running
 * server would change what the screen shows), and its panes start through /bin/sh, not the
 * login shell (a user like nobody has /usr/sbin/nologin, and the session would die at once).
 */
const TMUX = ["-L", `serin-test-${Deno.pid}`, "-f", "/dev/null"];

async function tmux(...args: string[]): Promise<string> {
  const r = await new Deno.Command("tmux", {
    args: [...TMUX, ...args],
    env: { SHELL: "/bin/sh" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(r.stdout);
}

async function screenShows(session: string, re: RegExp, ms = 15000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const screen = await tmux("capture-pane", "-t", session, "-p", "-S", "-100");
    if (re.test(screen)) return screen;
    if (Date.now() > end) throw new Error(`screen never showed ${re}:\n${screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name: haveTmux
    ? "the shell under tmux: commands, Ctrl-C to the program, history, use HOST"
    : "the shell under tmux (SKIPPED: `tmux` not installed)",
  ignore: !haveTmux,
  async fn() {
    const s = `serin-${crypto.randomUUID().slice(0, 8)}`;
    await tmux(
      "new-session",
      "-d",
      "-s",
      s,
      "-c",
      Deno.cwd(),
      "-x",
      "120",
      "-y",
      "50",
      `${Deno.execPath()} run -A tools/boot.ts --shell`,
    );
    try {
      await screenShows(s, /serin: 2 hosts up/);
      try {
        await screenShows(s, /alpha\$\s*$/m, 5000);
      } catch {
        // Seen rarely under heavy load: the first prompt is not on the screen yet. An empty
        // line makes the shell draw a fresh one.
        await tmux("send-keys", "-t", s, "Enter");
        await screenShows(s, /alpha\$\s*$/m);
      }
      await tmux("send-keys", "-t", s, "hosts", "Enter");
      await screenShows(s, /\* alpha\s+beta/);
      await tmux("send-keys", "-t", s, "ping 10.0.0.2", "Enter");
      await screenShows(s, /icmp_seq=2 ttl=64/);
      await tmux("send-keys", "-t", s, "C-c");
      // ping handles SIGINT as iputils does: it prints its summary, then the prompt returns.
      await screenShows(s, /\^C[\s\S]*packets transmitted[\s\S]*\nalpha\$\s*$/m);
      await tmux("send-keys", "-t", s, "use beta", "Enter");
      await tmux("send-keys", "-t", s, "ifconfig eth0", "Enter");
      await screenShows(s, /inet 10\.0\.0\.2\s+netmask 255\.255\.255\.0/);
      await tmux("send-keys", "-t", s, "Up", "Up");
      const screen = await screenShows(s, /beta\$ use beta$/m);
      assert.match(screen, /alpha\$ use beta\nbeta\$ ifconfig eth0/);
      await tmux("send-keys", "-t", s, "C-u", "exit", "Enter");
    } finally {
      await tmux("kill-session", "-t", s);
    }
  },
});
