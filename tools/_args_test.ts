import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { AF_INET, AF_INET6, ErrnoError } from "../libc/mod.ts";
import {
  familyFlag,
  hostLiteral,
  hostText,
  hostTitle,
  intArg,
  numArg,
  parseCommand,
  resolveHost,
  tool,
  UsageError,
} from "./_args.ts";

Deno.test("integer and number arguments are range-checked with the argument named", () => {
  equal(intArg("5", "count", 1, 10), 5);
  throws(() => intArg("0", "count", 1, 10), /invalid count: '0'/);
  throws(() => intArg("1.5", "count", 1, 10), UsageError);
  throws(() => intArg("x", "count", 1, 10), UsageError);
  equal(numArg("0.2", "interval", 0, 10), 0.2);
  equal(numArg("3", "interval", 0, 10), 3);
  throws(() => numArg("-1", "interval", 0, 10), UsageError);
  throws(() => numArg("1e3", "interval", 0, 10), UsageError);
});

Deno.test("host literals in canonical form, filtered by -4/-6; names are not literals", () => {
  deepEqual(hostLiteral("10.0.0.2"), { family: AF_INET, addr: "10.0.0.2" });
  deepEqual(hostLiteral("fe80::1"), { family: AF_INET6, addr: "fe80::1" });
  deepEqual(hostLiteral("FE80:0::0001"), { family: AF_INET6, addr: "fe80::1" });
  const zoned = hostLiteral("fe80::1%eth0")!;
  deepEqual(zoned, { family: AF_INET6, addr: "fe80::1", scope: "eth0" });
  equal(hostText(zoned), "fe80::1%eth0");
  throws(() => hostLiteral("fe80::1%"), /invalid zone/);
  throws(() => hostLiteral("10.0.0.2", AF_INET6), /Address family for hostname not supported/);
  equal(hostLiteral("localhost"), undefined);
  equal(hostLiteral("beta"), undefined);
  equal(hostTitle({ family: AF_INET, addr: "10.0.0.2", name: "beta" }), "beta (10.0.0.2)");
  equal(hostTitle({ family: AF_INET, addr: "10.0.0.2" }), "10.0.0.2 (10.0.0.2)");
});

Deno.test("a literal resolves without a kernel; a name outside a process cannot", async () => {
  deepEqual(await resolveHost("10.0.0.2"), { family: AF_INET, addr: "10.0.0.2" });
  await rejects(resolveHost("beta"), ErrnoError); // ENOSYS: not running as a Serin process
});

Deno.test("unknown options and -4 with -6 are usage errors", () => {
  throws(() => parseCommand(["-x"], {}), UsageError);
  const { values } = parseCommand(["-4", "-6"], {
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
  });
  throws(() => familyFlag(values), /mutually exclusive/);
});

Deno.test("tool() maps usage errors to 2, errno errors to the given status, help to 0", async () => {
  const err: string[] = [];
  const out: string[] = [];
  const saved = [console.error, console.log];
  console.error = (s: string) => err.push(s);
  console.log = (s: string) => out.push(s);
  try {
    const usage = "Usage: t [-x]\n  more help";
    equal(await tool("t", usage, () => Promise.reject(new UsageError("bad")))([]), 2);
    equal(err.pop(), "t: bad\nUsage: t [-x]");
    const failing = tool(
      "t",
      usage,
      () => Promise.reject(new ErrnoError("ENETUNREACH", "Cannot send")),
      2,
    );
    equal(await failing([]), 2);
    equal(err.pop(), "t: Cannot send: network is unreachable");
    equal(await tool("t", usage, () => Promise.reject(new Error("boom")))([]), 1);
    equal(err.pop(), "t: boom");
    equal(await tool("t", usage, () => Promise.resolve(0))(["--help"]), 0);
    equal(out.pop(), usage);
  } finally {
    [console.error, console.log] = saved;
  }
});
