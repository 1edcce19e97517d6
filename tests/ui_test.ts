/**
 * The web view in a real browser: headless Chromium (Debian's `chromium`) driven by
 * puppeteer-core against the demo topology. Skipped loudly without Chromium. Screenshots go to a
 * temporary directory whose name the test prints.
 */
import { equal, ok } from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { boot, type System } from "../kernel/mod.ts";
import { DEFAULT_NET } from "../tools/boot.ts";
import { buildPage } from "../tools/ui/bundle.ts";
import { serveUi, type Ui } from "../tools/ui/server.ts";
import { haveTshark, tsharkProblems } from "./tshark.ts";
import { readPcap } from "../netstack/wire/pcap.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
  .find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });

const why = CHROMIUM ? undefined : "chromium not installed (apt-get install chromium)";
if (why) console.error(`SKIPPED: ${why} (tests/ui_test.ts)`);

/** Wait until `fn` in the page returns true (polling), or fail with `what`. */
async function until(page: Page, what: string, fn: string, ms = 45_000): Promise<void> {
  try {
    await page.waitForFunction(fn, { timeout: ms, polling: 100 });
  } catch {
    const graph = await page.evaluate(
      `document.querySelector(".graph")?.outerHTML.slice(0, 300) ?? "no .graph"`,
    ).catch(() => "?");
    throw new Error(`Timed out waiting for ${what} (the graph element: ${graph})`);
  }
}

Deno.test({
  name: why ? `web view in Chromium (SKIPPED: ${why})` : "web view in Chromium",
  ignore: why !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const shots = await Deno.makeTempDir({ prefix: "serin-ui-shots-" });
    console.error(`ui_test: screenshots in ${shots}`);
    await using sys: System = await boot({ net: DEFAULT_NET, output: () => {} });
    await using ui: Ui = await serveUi(sys, { port: 0, page: await buildPage() });
    const browser: Browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    try {
      const page = await browser.newPage();
      // The page's own errors go to the test's output: a timeout alone says nothing.
      page.on("pageerror", (e) => console.error(`ui_test: page error: ${e}`));
      await page.setViewport({ width: 1280, height: 1000 });
      const shot = (name: string) => page.screenshot({ path: `${shots}/${name}.png` });

      await t.step("the demo page shows alpha, beta and the link", async () => {
        await page.goto(ui.url);
        await until(
          page,
          "hosts and link",
          `document.querySelector("[data-host=alpha]") && document.querySelector("[data-host=beta]") &&
           document.querySelector("[data-link=lan]")`,
        );
        // Known flake (issue #17): about one load in ten draws no graph, with no page error.
        // Reload once, loudly, and note it; a second miss fails.
        try {
          await until(page, "the graph", `!!document.querySelector(".graph canvas")`, 15_000);
        } catch (e) {
          console.error(`ui_test: ${(e as Error).message}; reloading the page once`);
          await page.reload();
          await until(page, "the graph", `!!document.querySelector(".graph canvas")`);
        }
        await shot("topology");
        await page.click("[data-host=alpha]");
        await until(
          page,
          "alpha's interfaces, routes and processes",
          `document.body.innerText.includes("Host alpha") && document.body.innerText.includes("10.0.0.1/24") &&
           document.body.innerText.includes("Routes")`,
        );
        await shot("host");
      });

      let sender = "";
      await t.step("during an 8 MB transfer the connection's cwnd plot gets points", async () => {
        const sink = await sys.start("demo", ["tcp-sink", "5001"], { host: "beta" });
        const send = sys.start("demo", ["tcp-send", "10.0.0.2", "5001", "8"], { host: "alpha" });
        await until(
          page,
          "a connection from alpha",
          `[...document.querySelectorAll("a.conn")]
          .some((a) => a.getAttribute("href").includes("alpha"))`,
        );
        sender = await page.$$eval(
          "a.conn",
          (as) =>
            as.map((a) => a.getAttribute("href") ?? "").find((h) => h.includes("alpha")) ?? "",
        );
        await page.goto(`${ui.url}${sender}`);
        await until(
          page,
          "cwnd points",
          `Number(document.querySelector("#chart-cwnd")?.dataset.points ?? 0) >= 3`,
        );
        await sys.wait(await send);
        await sys.wait(sink);
        await new Promise((r) => setTimeout(r, 500));
        await shot("connection");
        const tseq = await page.$eval(
          "#chart-tseq",
          (e) => Number((e as unknown as { dataset: Record<string, string> }).dataset.points),
        );
        ok(tseq > 100, `time-sequence graph has ${tseq} points`);
      });

      await t.step("loss=20% set from the page raises drops; retransmissions show", async () => {
        await page.goto(`${ui.url}#/link/lan`);
        await page.waitForSelector("input[name=loss]");
        await page.type("input[name=loss]", "20");
        await page.click("#apply");
        await until(page, "applied", `document.querySelector(".msg")?.textContent === "Applied."`);
        const faults = (await sys.link({ op: "links" }) as Array<{ faults: { loss?: number } }>)[0];
        equal(faults.faults.loss, 0.2);
        const sink = await sys.start("demo", ["tcp-sink", "5002"], { host: "beta" });
        const send = sys.start("demo", ["tcp-send", "10.0.0.2", "5002", "1"], { host: "alpha" });
        await until(page, "drops", `Number(document.querySelector("#lost")?.textContent) > 0`);
        await page.goto(ui.url);
        await until(
          page,
          "the lossy connection",
          `[...document.querySelectorAll("a.conn")]
          .some((a) => a.getAttribute("href").includes("alpha") && a.getAttribute("href").includes("5002"))`,
        );
        const lossy = await page.$$eval(
          "a.conn",
          (as) =>
            as.map((a) => a.getAttribute("href") ?? "").find((h) =>
              h.includes("alpha") && h.includes("5002")
            ) ?? "",
        );
        await page.goto(`${ui.url}${lossy}`);
        await until(
          page,
          "retransmissions in the plot",
          `Number(document.querySelector("#chart-retrans")?.dataset.last ?? 0) > 0`,
          40_000,
        );
        await shot("retransmissions");
        await sys.link({ op: "linkset", link: "lan", clear: true });
        await sys.wait(await send);
        await sys.wait(sink);
        await page.goto(`${ui.url}#/link/lan`);
        await page.waitForSelector("pre.frames");
        await shot("link");
      });

      await t.step("the downloaded pcap opens cleanly in tshark", async () => {
        const href = await page.$eval("#pcap", (a) => (a as unknown as { href: string }).href);
        const r = await fetch(href);
        equal(r.status, 200);
        equal(r.headers.get("content-type"), "application/vnd.tcpdump.pcap");
        const bytes = new Uint8Array(await r.arrayBuffer());
        ok(bytes.length > 24, "more than a header");
        const path = `${shots}/lan.pcap`;
        await Deno.writeFile(path, bytes);
        if (!haveTshark()) {
          console.error("SKIPPED: tshark not installed (pcap check of ui_test)");
          return;
        }
        const frames = readPcap(bytes).records.length;
        ok(frames > 10, `the pcap holds ${frames} frames`);
        const bad = (await tsharkProblems(path)).filter((p) =>
          p.group === "malformed" || p.group === "checksum" || p.severity === "error"
        );
        equal(bad.length, 0, JSON.stringify(bad.slice(0, 5)));
      });
    } finally {
      await browser.close();
    }
  },
});
