import { deepEqual, equal, ok } from "node:assert/strict";
import { formatFaults, parseLinkCommand, parsePercent, parseRate, parseTime } from "./_link_cmd.ts";

Deno.test("link set takes tc netem's words", () => {
  deepEqual(
    parseLinkCommand(
      "set sw1 loss 5% delay 20ms jitter 5ms dup 1% reorder 5% corrupt 0.1% rate 10mbit".split(" "),
    ),
    {
      req: {
        op: "linkset",
        link: "sw1",
        faults: {
          loss: 0.05,
          delayMs: 20,
          jitterMs: 5,
          dup: 0.01,
          reorder: 0.05,
          corrupt: 0.001,
          rateBitsPerSec: 1e7,
        },
      },
    },
  );
  deepEqual(parseLinkCommand(["set", "sw1", "down"]), {
    req: { op: "linkset", link: "sw1", up: false },
  });
  deepEqual(parseLinkCommand("set lan delay 100ms 10ms loss gemodel 1% 30%".split(" ")), {
    req: {
      op: "linkset",
      link: "lan",
      faults: { delayMs: 100, jitterMs: 10, geP: 0.01, geR: 0.3 },
    },
  });
  deepEqual(parseLinkCommand(["show"]), { req: { op: "links" }, only: undefined });
  deepEqual(parseLinkCommand([]), { req: { op: "links" }, only: undefined });
});

Deno.test("link set refuses impossible values with a clear message", () => {
  const err = (s: string) => {
    const r = parseLinkCommand(s.split(" "));
    ok("error" in r, s);
    return r.error;
  };
  ok(err("set sw1 loss 150%").includes("loss needs a percentage like 5%, not 150%"));
  ok(err("set sw1 delay -1").includes("delay needs a time"));
  ok(err("set sw1 rate fast").includes("rate needs a rate"));
  ok(err("set sw1 loss").includes("not nothing"));
  ok(err("set sw1 wobble 3").includes("unknown word wobble"));
  ok(err("set sw1").includes("nothing to change"));
  ok(err("set").includes("which link"));
  ok(err("frob").includes("unknown command"));
});

Deno.test("values parse as tc writes them and print back", () => {
  equal(parsePercent("5"), 0.05);
  equal(parsePercent("101%"), undefined);
  equal(parseTime("500us"), 0.5);
  equal(parseTime("1s"), 1000);
  equal(parseRate("1gbit"), 1e9);
  equal(parseRate("5mbps"), 4e7);
  equal(
    formatFaults({ loss: 0.05, delayMs: 20, rateBitsPerSec: 1e7 }),
    "loss 5% delay 20ms rate 10mbit",
  );
});
