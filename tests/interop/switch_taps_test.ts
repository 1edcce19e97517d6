/**
 * Serin's virtual switch with Linux TAP devices as ports (the topology's `"switches"`): two Linux
 * namespaces talk to each other, and to a Serin host on the same switch, through it; with faults
 * on every cable (loss, duplication and reordering, both ways) a bidirectional 1 MB TCP echo
 * between the two Linux hosts stays byte-identical; a TAP deleted while the switch runs takes
 * nothing else down.
 */
import assert from "node:assert/strict";
import { delay, interopTest, mustRun, Watched, within } from "./_lab.ts";
import { SWITCH_HOST, SwitchLab } from "./_switch_lab.ts";
import { SHA_CLIENT_PY, SHA_SERVER_PY } from "./_python.ts";

const ECHO_SERVER = new URL("./echo_server.py", import.meta.url).pathname;
const ECHO_CLIENT = new URL("./lossy_echo_client.py", import.meta.url).pathname;

/** No kernel log line says a worker crashed. */
function assertNoCrash(lab: SwitchLab): void {
  assert.deepEqual(lab.log.filter((l) => l.includes("crashed")), [], lab.log.join("\n"));
}

/** Ping `to` from `lab.a`'s namespace; the number of replies. */
async function pings(lab: SwitchLab, to: string, count = 3): Promise<number> {
  const r = await lab.exec(lab.a, ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "2", to]);
  const m = /(\d+) received/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

/** Start a python3 program in `lab.b` and wait for its "listening" line. */
async function startInB(lab: SwitchLab, argv: string[]): Promise<Deno.ChildProcess> {
  const child = lab.spawn(lab.b, argv);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("listening")) {
    const next = await within(reader.read(), 10_000, `${argv.join(" ")} to listen`);
    if (next.done) throw new Error(`${argv.join(" ")} exited before listening`);
    seen += next.value;
  }
  reader.releaseLock();
  return child;
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
  await child.status;
}

interopTest(
  "interop switch taps: two Linux namespaces ping and move 200 KB over TCP through Serin's switch, a Serin host on it answers too",
  ["ping", "python3"],
  async () => {
    await using lab = await SwitchLab.create({ serinHost: true });
    assert.equal(await pings(lab, lab.b.addr), 3, "IPv4 ping A → B");
    assert.equal(await pings(lab, lab.b.addr6), 3, "IPv6 ping A → B");
    assert.equal(await pings(lab, lab.serinAddr), 3, "ping A → the Serin host");
    // And Serin's host reaches Linux through the same switch.
    const r = await lab.sys.run("ping", ["-c", "2", "-i", "0.2", lab.b.addr], {
      host: SWITCH_HOST,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);

    const server = await startInB(lab, ["python3", "-c", SHA_SERVER_PY, lab.b.addr, "5001"]);
    try {
      const out = await mustRun([
        "ip",
        "netns",
        "exec",
        lab.a.ns,
        "python3",
        "-c",
        SHA_CLIENT_PY,
        lab.b.addr,
        "5001",
        "200000",
      ]);
      const res = JSON.parse(out) as { mine: string; peer: string };
      assert.equal(res.peer, res.mine, "B did not get A's bytes intact");
    } finally {
      await stop(server);
    }
    assertNoCrash(lab);
  },
);

for (const v6 of [false, true]) {
  interopTest(
    `interop switch taps: a 1 MB TCP echo between two Linux namespaces over IPv${
      v6 ? 6 : 4
    } stays byte-identical through loss=0.05,dup=0.02,reorder=0.05 on both TAP cables, both ways`,
    ["python3"],
    async () => {
      await using lab = await SwitchLab.create({
        faults: `loss=0.05,dup=0.02,reorder=0.05,delay=1ms,seed=${v6 ? 7 : 3}`,
      });
      const to = v6 ? lab.b.addr6 : lab.b.addr;
      const server = await startInB(lab, ["python3", ECHO_SERVER, v6 ? "::" : "0.0.0.0", "7"]);
      try {
        const r = await lab.exec(
          lab.a,
          ["python3", ECHO_CLIENT, to, "7", "1000000", "20"],
          { timeoutMs: 90_000 },
        );
        const line = r.stdout.trim().split("\n").pop() ?? "";
        assert.equal(r.code, 0, `${line}\n${r.stderr}`);
        const res = JSON.parse(line) as {
          sent: number;
          got: number;
          sentSha: string;
          gotSha: string;
          linux: Record<string, number>;
        };
        assert.equal(res.got, 1_000_000, line);
        assert.equal(res.gotSha, res.sentSha, "the echo is not byte-identical");
        // Both directions impaired: A resent what was lost on its way, and B's echo reached A
        // with holes before it.
        assert.ok(res.linux["Tcp.RetransSegs"] > 0, `A never retransmitted: ${line}`);
        assert.ok(res.linux["TcpExt.TCPOFOQueue"] > 0, `nothing reached A out of order: ${line}`);
      } finally {
        await stop(server);
      }
      assertNoCrash(lab);
    },
  );
}

interopTest(
  "interop switch taps: a TAP port deleted while the switch runs is dropped, not a crash; the other ports go on",
  ["ping"],
  async () => {
    await using lab = await SwitchLab.create({ serinHost: true });
    assert.equal(await pings(lab, lab.b.addr, 1), 1);
    await mustRun(["ip", "-n", lab.b.ns, "link", "del", lab.b.tap]);
    await delay(200); // the TAP's receive loop notices within one poll (50 ms)
    // Flooded frames (ARP for B) and frames to B's learned MAC now go to a dead port.
    assert.equal(await pings(lab, lab.b.addr, 2), 0, "B is gone");
    assert.equal(await pings(lab, lab.serinAddr, 3), 3, "A still reaches the Serin host");
    const r = await lab.sys.run("ping", ["-c", "2", "-i", "0.2", lab.a.addr], {
      host: SWITCH_HOST,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assertNoCrash(lab);
  },
);

interopTest(
  "interop switch taps: `deno task run --config` with switches only links two Linux namespaces, as the README shows",
  ["ping"],
  async () => {
    await using lab = SwitchLab.plan();
    const dir = await Deno.makeTempDir();
    const config = `${dir}/links.json`;
    await Deno.writeTextFile(config, JSON.stringify(lab.net({ faults: "delay=1ms" })));
    const child = new Watched(
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "tools/boot.ts", "--config", config, "--for", "60"],
        cwd: new URL("../..", import.meta.url).pathname,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
    );
    try {
      const deadline = Date.now() + 20_000;
      while (!child.stderr.includes("serin: up (switch sw1: ")) {
        if (Date.now() > deadline) throw new Error(`Serin never came up: ${child.stderr}`);
        await delay(20);
      }
      await lab.enterNamespaces();
      assert.equal(await pings(lab, lab.b.addr), 3, child.stderr);
    } finally {
      await child.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
