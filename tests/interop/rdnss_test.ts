/**
 * IPv6 DNS configuration from dnsmasq's router advertisements (RFC 8106): dnsmasq in the lab's
 * namespace advertises the TAP's prefix (`enable-ra`, `ra-only`) with an RDNSS option naming
 * Linux's address and a DNSSL with its domain; Serin's `resolvconf` then lists that server and
 * domain (dnsmasq's log is on stderr, not in the failure message).
 */
import assert from "node:assert/strict";
import { delay, interopTest, mustRun, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { bootOnTap, type SerinOnTap } from "./_serin.ts";

const DNSMASQ = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}) ?? "dnsmasq";

/** Poll until Linux's addresses on the TAP are past DAD (dnsmasq sends RAs from its link-local). */
async function waitLinuxDad(lab: TapLab): Promise<void> {
  let out = "";
  for (let i = 0; i < 50; i++) {
    out = await mustRun(["ip", "-n", lab.ns, "-6", "addr", "show", "dev", lab.tap]);
    if (out.includes("inet6 fe80::") && !out.includes("tentative")) return;
    await delay(100);
  }
  throw new Error(`Linux's IPv6 addresses on ${lab.tap} never left DAD: ${out}`);
}

/** Serin's `resolvconf` output, polled until it contains `text` (or the last one after 15 s). */
async function waitResolvconf(serin: SerinOnTap, text: string): Promise<string> {
  let out = "";
  for (let i = 0; i < 75; i++) {
    out = (await serin.run("resolvconf", [], { host: SERIN_HOST })).stdout;
    if (out.includes(text)) return out;
    await delay(200);
  }
  return out;
}

interopTest(
  "interop IPv6: dnsmasq's RA with RDNSS/DNSSL gives Serin its DNS server and search domain",
  ["dnsmasq"],
  async () => {
    await using lab = await TapLab.create();
    await using serin = await bootOnTap(lab);
    const server = `fd00:77:${lab.subnet}::1`;
    await mustRun(["ip", "-n", lab.ns, "-6", "addr", "add", `${server}/64`, "dev", lab.tap]);
    await waitLinuxDad(lab);
    const dnsmasq = new Watched(lab.spawn([
      DNSMASQ,
      "--keep-in-foreground",
      "--no-daemon",
      "--conf-file=/dev/null",
      "--port=0",
      `--interface=${lab.tap}`,
      "--bind-interfaces",
      "--enable-ra",
      `--dhcp-range=::,constructor:${lab.tap},ra-only,64,10m`,
      `--dhcp-option=option6:dns-server,[${server}]`,
      "--dhcp-option=option6:domain-search,ra.lab.test",
      `--dhcp-leasefile=/tmp/${lab.ns}.leases6`,
      "--pid-file=",
    ]));
    try {
      const out = await waitResolvconf(serin, `nameserver ${server}`);
      assert.match(out, new RegExp(`^nameserver ${server}$`, "m"), `resolvconf printed:\n${out}`);
      assert.match(out, /^search .*ra\.lab\.test/m, `resolvconf printed:\n${out}`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ndnsmasq said:\n${dnsmasq.text}`, { cause: err });
    } finally {
      await dnsmasq.kill();
    }
  },
);
