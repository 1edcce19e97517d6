/**
 * Serin's resolver against real DNS servers over a TAP: dnsmasq in the lab's namespace answers
 * for a few names (A, AAAA, a CNAME, 60 A records that need TCP), Serin resolves through it, and
 * its `getent ahosts` prints what glibc's does in the namespace for the same records (same
 * address layout on both sides: an IPv4 /24 and a ULA /64). tshark decodes Serin's queries
 * without a complaint. Then a lying server (python3, on a second address): spoofed answers
 * with a wrong ID, question or port are ignored, silence and garbage end in EAI_AGAIN.
 */
import assert from "node:assert/strict";
import { boot } from "../../kernel/mod.ts";
import type { NetSetup } from "../../kernel/net_setup.ts";
import { tsharkProblems } from "../tshark.ts";
import { Capture, delay, interopTest, SERIN_HOST, TapLab, Watched, within } from "./_lab.ts";

const DNSMASQ = "/usr/sbin/dnsmasq";

/** The lying server: spoofs, silence and garbage, chosen by the first label of the name. */
const EVIL = `
import os, socket, struct, sys, threading, time
addr = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 53))
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.bind((addr, 5353))
print("ready", flush=True)
def question(q):
    i = 12
    while q[i]:
        i += 1 + q[i]
    return q[12:i + 5], q[13:13 + q[12]].decode()
def answer(qid, qsec, ip):
    return (struct.pack("!HHHHHH", qid, 0x8580, 1, 1, 0, 0) + qsec +
            b"\\xc0\\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ip))
while True:
    q, peer = s.recvfrom(4096)
    qid = struct.unpack("!H", q[:2])[0]
    qsec, label = question(q)
    if label == "silent" or qsec[-4:-2] != b"\\x00\\x01":
        if label != "silent":
            s.sendto(struct.pack("!HHHHHH", qid, 0x8580, 1, 0, 0, 0) + qsec, peer)
        continue
    if label.startswith("spoof"):
        s.sendto(answer(qid ^ 0x5555, qsec, "10.66.0.1"), peer)
        wrong = b"\\x05other" + qsec[1 + qsec[0]:]
        s.sendto(answer(qid, wrong, "10.66.0.2"), peer)
        other.sendto(answer(qid, qsec, "10.66.0.3"), peer)
        if label == "spoof":
            time.sleep(0.05)
            s.sendto(answer(qid, qsec, "10.66.0.77"), peer)
    elif label == "huge":
        body = os.urandom(60000)
        s.sendto(struct.pack("!HHHHHH", qid, 0x8580, 1, 65535, 0, 0) + qsec + body, peer)
    elif label == "garbage":
        s.sendto(struct.pack("!H", qid) + os.urandom(40), peer)
`;

interopTest("interop: Serin resolves through dnsmasq as glibc does, and ignores lying servers", [
  "python3",
  "tcpdump",
  "tshark",
  DNSMASQ,
], async () => {
  await using lab = await TapLab.create();
  const net: NetSetup = lab.serinNet();
  const host = net.hosts[0];
  host.ifaces![0].addrs!.push(`${lab.serinAddr6}/64`);
  host.resolver = { nameservers: [lab.linuxAddr], search: ["lab"] };
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  await using sys = await boot({
    net,
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  await lab.waitAttached();
  await lab.enterNamespace();
  const n = lab.subnet;
  // Linux's side, as Serin's: a default route each way, no IPv6 default on either.
  await lab.exec(["ip", "route", "add", "default", "via", lab.serinAddr]);
  const evilAddr = `10.77.${n}.53`;
  await lab.exec(["ip", "addr", "add", `${evilAddr}/32`, "dev", lab.tap]);

  // glibc in the namespace asks the same dnsmasq, with no /etc/hosts names of its own.
  const etc = `/etc/netns/${lab.ns}`;
  await Deno.mkdir(etc, { recursive: true });
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${etc}/resolv.conf`, `nameserver ${lab.linuxAddr}\nsearch lab\n`);
    await Deno.writeTextFile(`${etc}/hosts`, "127.0.0.1 localhost\n");
    const records = [
      `10.77.${n}.9 multi.lab`,
      `192.0.2.9 multi.lab`,
      `fd00:77::9 multi.lab`,
      `2001:db8:77::9 multi.lab`,
      `10.77.${n}.200 multi.lab`,
      `${lab.linuxAddr} gw.lab`,
      ...Array.from({ length: 60 }, (_, i) => `10.77.${n}.${i + 10} many.lab`),
    ];
    await Deno.writeTextFile(`${tmp}/hosts`, records.join("\n") + "\n");
    const dnsmasq = new Watched(lab.spawn([
      DNSMASQ,
      "--keep-in-foreground",
      "--no-daemon",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${tmp}/hosts`,
      `--listen-address=${lab.linuxAddr}`,
      "--bind-interfaces",
      "--user=root",
      "--pid-file=",
      "--cname=www.lab,multi.lab",
      "--local=/lab/",
      "--edns-packet-max=512",
      "--log-queries",
    ]));
    const evil = new Watched(lab.spawn(["python3", "-c", EVIL, evilAddr]));
    try {
      await evil.waitFor("ready");
      await delay(300); // dnsmasq binds its sockets
      const pcap = `${tmp}/dns.pcap`;
      const cap = await Capture.start(lab, pcap);
      const run = async (prog: string, args: string[], caps: string[] = []) => {
        const pid = await sys.start(prog, args, { host: SERIN_HOST, caps });
        const status = await within(sys.wait(pid), 30_000, `${prog} ${args.join(" ")}`);
        return { status, out: out.get(pid) ?? "" };
      };
      // Serin's IPv6 address leaves DAD before its order can match Linux's.
      const deadline = Date.now() + 10_000;
      while (!(await run("getent", ["ahosts", "multi.lab"])).out.startsWith("fd00:77::9")) {
        if (Date.now() > deadline) throw new Error("Serin's IPv6 address never became usable");
        await delay(200);
      }
      for (const name of ["multi.lab", "www.lab", "multi", "gw"]) {
        const serin = await run("getent", ["ahosts", name]);
        const linux = await lab.exec(["getent", "ahosts", name]);
        assert.equal(serin.status, linux.code, `${name}: ${serin.out}`);
        assert.equal(serin.out, linux.stdout, `getent ahosts ${name}`);
      }
      // 60 records: truncated over UDP, all of them over TCP (order among equals is dnsmasq's).
      const many = await run("getent", ["ahostsv4", "many"]);
      const linuxMany = await lab.exec(["getent", "ahostsv4", "many"]);
      const addrs = (t: string) =>
        t.split("\n").filter((l) => l.includes("STREAM")).map((l) => l.split(" ")[0]).sort();
      assert.equal(addrs(many.out).length, 60);
      assert.deepEqual(addrs(many.out), addrs(linuxMany.stdout));
      const ping = await run("ping", ["-c", "1", "gw"]);
      assert.equal(ping.status, 0, ping.out);
      assert.match(ping.out, new RegExp(`^PING gw \\(${lab.linuxAddr.replaceAll(".", "\\.")}\\)`));
      const nx = await run("ping", ["-c", "1", "nosuch.lab"]);
      assert.equal(nx.status, 2);
      assert.match(nx.out, /nosuch\.lab: Name or service not known/);
      // The same EAI codes as glibc's getaddrinfo for the same answers (checked with python3 in
      // a namespace against this dnsmasq set-up): NODATA, and REFUSED for a name outside .lab.
      const nodata = await run("ping", ["-6", "-c", "1", "gw"]);
      assert.match(nodata.out, /gw: No address associated with hostname/);
      const refused = await run("ping", ["-c", "1", "example.com"]);
      assert.match(refused.out, /example\.com: Temporary failure in name resolution/);
      await cap.drain();
      await cap.stop();
      const problems = await tsharkProblems(pcap);
      assert.deepEqual(problems, [], "tshark's complaints about the DNS exchange");
      const dnsQueries = await lab.exec([
        "tshark",
        "-n",
        "-r",
        pcap,
        "-Y",
        "dns.flags.response == 0 && ip.src == " + lab.serinAddr,
        "-T",
        "fields",
        "-e",
        "dns.qry.name",
      ]);
      assert.match(dnsQueries.stdout, /many\.lab/);

      // The lying server, alone, with short timeouts.
      await run("resolvconf", ["nameserver", evilAddr], ["net_admin"]);
      await run("resolvconf", ["options", "timeout:1", "attempts:2"], ["net_admin"]);
      const spoof = await run("getent", ["ahostsv4", "spoof.evil"]);
      assert.equal(spoof.out.split("\n")[0], "10.66.0.77      STREAM spoof.evil");
      for (const name of ["spoofonly.evil", "silent.evil", "huge.evil", "garbage.evil"]) {
        const t0 = Date.now();
        const r = await run("ping", ["-4", "-c", "1", name]);
        assert.equal(r.status, 2, `${name}: ${r.out}`);
        assert.match(
          r.out,
          new RegExp(`${name.replace(".", "\\.")}: Temporary failure in name resolution`),
        );
        // Two attempts of one second each, no more, no less (with slack for a loaded machine).
        const took = Date.now() - t0;
        if (name !== "huge.evil" && name !== "garbage.evil") {
          assert.ok(took >= 1900, `${name}: ${took} ms`);
        }
        assert.ok(took < 15_000, `${name}: ${took} ms`);
      }
    } finally {
      await evil.kill();
      await dnsmasq.kill();
    }
  } finally {
    await Deno.remove(etc, { recursive: true }).catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
