/**
 * Link control on a running system (`link set` from the shell, netctl from programs): faults
 * change while it runs, the carrier reaches the hosts' NICs, and wrong requests get errors.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { boot } from "../kernel/mod.ts";
import type { IfaceInfo, LinkInfo } from "../kernel/bus/messages.ts";
import { ErrnoError } from "../kernel/errno.ts";
import { DEFAULT_NET } from "../tools/boot.ts";
import { linkCommand } from "../tools/shell.ts";

Deno.test("link set changes a running link; hosts see the carrier; bad requests are refused", async () => {
  await using sys = await boot({ net: DEFAULT_NET, output: () => {} });
  const ping = (n = 1) =>
    sys.run("ping", ["-c", String(n), "-i", "0.05", "-W", "1", "10.0.0.2"], {
      host: "alpha",
    });
  equal((await ping()).status, 0);
  const show = await linkCommand(sys, ["show"], false);
  ok(show.includes("lan: <switch> state UP"), show);
  ok(show.includes("alpha/eth0: TX"), show);

  // Not root: refused before it reaches the link.
  ok((await linkCommand(sys, ["set", "lan", "down"], false)).includes("not permitted"));
  equal(await linkCommand(sys, ["set", "lan", "loss", "100%"], true), "");
  equal((await ping()).status, 1, "everything lost");
  const info = (await sys.link({ op: "links" }) as LinkInfo[])[0];
  ok(info.drops.lost >= 1);
  equal(await linkCommand(sys, ["set", "lan", "loss", "0"], true), "");
  equal((await ping()).status, 0);

  // Carrier: the e1000 on alpha reports the link down, and back up.
  equal(await linkCommand(sys, ["set", "lan", "down"], true), "");
  const running = async () => {
    const ifs = await sys.netctl("alpha", { op: "ifaces" }) as IfaceInfo[];
    return ifs.find((i) => i.name === "eth0")!.linkUp;
  };
  for (let i = 0; i < 100 && await running(); i++) await new Promise((r) => setTimeout(r, 20));
  equal(await running(), false);
  equal((await ping()).status, 1);
  await linkCommand(sys, ["set", "lan", "up"], true);
  for (let i = 0; i < 100 && !await running(); i++) await new Promise((r) => setTimeout(r, 20));
  equal(await running(), true);
  equal((await ping()).status, 0);

  ok((await linkCommand(sys, ["set", "lan", "loss", "150%"], true)).includes("not 150%"));
  ok((await linkCommand(sys, ["set", "wan", "loss", "1%"], true)).includes("No link named wan"));
  await rejects(sys.link({ op: "linkset", link: "lan", faults: { delayMs: -1 } }), ErrnoError);
  await rejects(sys.link({ op: "bogus" } as never), ErrnoError);

  // A program reads links with netctl; changing them, or reading their frames, needs net_admin.
  const r = await sys.run("tests/programs/link_ctl.ts", ["lan"], { host: "beta", uid: 1000 });
  equal(r.stdout.trim(), "lan up; set: EPERM; frames: EPERM", r.stderr);
  equal((await ping(3)).status, 0, "the system still works");
});
