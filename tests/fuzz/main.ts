/**
 * Run both fuzzers for a while and keep what breaks Serin:
 * `deno run -A tests/fuzz/main.ts --minutes N [--seed S]`. The time is split between the frame
 * fuzzer (in rounds of 30 s, each with the next seed), the syscall fuzzer (rounds of 20 s) and
 * the DNS and DHCP message fuzzers (rounds of up to 5 s each).
 * Every failing input is written to tests/fuzz/regressions/ as a small JSON file, which the
 * fuzz tests replay first. Exit status 1 when anything was found.
 */
import { runFrameCampaign, toRegression } from "./frames.ts";
import { runSyscallFuzz, type SyscallRegression } from "./syscalls.ts";
import { runDnsFuzz } from "./dns.ts";
import { runDhcpFuzz } from "./dhcp.ts";

const USAGE = "Usage: deno run -A tests/fuzz/main.ts --minutes N [--seed S]";

function parseArgs(args: string[]): { minutes: number; seed: number } {
  let minutes = 1;
  let seed = Date.now() % 1_000_000;
  for (let i = 0; i < args.length; i++) {
    const v = args[i + 1];
    switch (args[i]) {
      case "--minutes":
        minutes = Number(v);
        i++;
        break;
      case "--seed":
        seed = Number(v);
        i++;
        break;
      case "--help":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        console.error(`fuzz: unknown argument '${args[i]}'\n${USAGE}`);
        Deno.exit(2);
    }
  }
  if (!(minutes > 0) || !Number.isSafeInteger(seed)) {
    console.error(`fuzz: bad --minutes or --seed\n${USAGE}`);
    Deno.exit(2);
  }
  return { minutes, seed };
}

function save(name: string, value: unknown): string {
  const url = new URL(`./regressions/${name}.json`, import.meta.url);
  Deno.writeTextFileSync(url, JSON.stringify(value, null, 2) + "\n");
  return url.pathname;
}

async function main(): Promise<number> {
  const { minutes, seed } = parseArgs(Deno.args);
  const end = Date.now() + minutes * 60_000;
  let frameSeed = seed;
  let found = 0;
  let frameExecs = 0, frameSeconds = 0, calls = 0, callSeconds = 0, dnsExecs = 0, dhcpExecs = 0;
  const reasons = new Set<string>();
  while (Date.now() < end) {
    const left = (end - Date.now()) / 1000;
    const fr = await runFrameCampaign(Math.min(30, left * 0.6), frameSeed);
    frameExecs += fr.executions;
    frameSeconds += fr.seconds;
    for (const r of fr.dropReasons) reasons.add(r);
    for (const f of fr.known) {
      console.log(`frame fuzz seed ${f.seed}: known bug: ${f.message.slice(0, 200)}`);
    }
    for (const f of fr.failures) {
      found++;
      const path = save(`frames-${f.seed}-${found}`, toRegression(f, f.seed));
      console.log(`frame fuzz seed ${f.seed}: ${f.message.split("\n")[0]}\n  saved ${path}`);
    }
    console.log(
      `frames seeds ${
        fr.seeds.join(",")
      }: ${fr.execsPerSecond} exec/s, ${fr.executions} executions`,
    );
    frameSeed = fr.seeds[fr.seeds.length - 1];
    frameSeed++;
    const rest = (end - Date.now()) / 1000;
    if (rest < 3) break;
    const sr = await runSyscallFuzz({ seconds: Math.min(20, rest), seed: frameSeed });
    calls += sr.calls;
    callSeconds += sr.seconds;
    console.log(`syscalls seed ${sr.seed}: ${sr.execsPerSecond} calls/s, ${sr.calls} calls`);
    if (sr.failures.length) {
      found++;
      const reg: SyscallRegression = {
        kind: "syscalls",
        seed: sr.seed,
        calls: sr.calls,
        message: sr.failures.join("; ").slice(0, 2000),
      };
      const path = save(`syscalls-${sr.seed}`, reg);
      console.log(`syscall fuzz seed ${sr.seed}: ${reg.message}\n  saved ${path}`);
    }
    const dr = runDnsFuzz({
      seconds: Math.min(5, Math.max(0, (end - Date.now()) / 2000)),
      seed: frameSeed,
    });
    dnsExecs += dr.executions;
    for (const f of dr.failures) {
      found++;
      const path = save(`dns-${frameSeed}-${found}`, { kind: "dns", seed: frameSeed, ...f });
      console.log(`dns fuzz seed ${frameSeed}: ${f.message.split("\n")[0]}\n  saved ${path}`);
    }
    const hr = runDhcpFuzz({
      seconds: Math.min(5, Math.max(0, (end - Date.now()) / 1000)),
      seed: frameSeed,
    });
    dhcpExecs += hr.executions;
    for (const f of hr.failures) {
      found++;
      const path = save(`dhcp-${frameSeed}-${found}`, f);
      console.log(`dhcp fuzz seed ${frameSeed}: ${f.message.split("\n")[0]}\n  saved ${path}`);
    }
    frameSeed++;
  }
  console.log(`dns: ${dnsExecs} messages; dhcp: ${dhcpExecs} messages`);
  console.log(
    `summary: frames ${frameExecs} executions, ${Math.round(frameExecs / (frameSeconds || 1))} ` +
      `exec/s; syscalls ${calls} calls, ${Math.round(calls / (callSeconds || 1))} calls/s; ` +
      `${found} failing inputs saved\ndrop reasons: ${[...reasons].sort().join(", ")}`,
  );
  return found ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
