import { deepEqual, equal, throws } from "node:assert/strict";
import { formatNeigh6, parseNeighWords } from "./ndp.ts";

Deno.test("neighbours print like ip -6 neigh", () => {
  equal(
    formatNeigh6({
      family: 10,
      addr: "fe80::2",
      mac: "02:00:00:00:00:02",
      iface: "eth0",
      state: "reachable",
    }),
    "fe80::2 dev eth0 lladdr 02:00:00:00:00:02 REACHABLE",
  );
  equal(
    formatNeigh6({ family: 10, addr: "fe80::3", iface: "eth0", state: "incomplete" }),
    "fe80::3 dev eth0 INCOMPLETE",
  );
});

Deno.test("dev and lladdr words are parsed and checked", () => {
  deepEqual(parseNeighWords(["lladdr", "02:00:00:00:00:AA", "dev", "eth0"]), {
    lladdr: "02:00:00:00:00:aa",
    dev: "eth0",
  });
  throws(() => parseNeighWords(["dev"]), /needs an argument/);
  throws(() => parseNeighWords(["lladdr", "zz"]), /invalid lladdr/);
  throws(() => parseNeighWords(["nud", "permanent"]), /unknown argument/);
});
