import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  bytesPath,
  headEnd,
  indexPage,
  keepAlive,
  parseRequestHead,
  type RequestHead,
  responseHead,
} from "./httpd.ts";
import { bootCollecting } from "./_test_system.ts";

const enc = new TextEncoder();

function head(text: string): RequestHead {
  const r = parseRequestHead(text);
  ok(!("status" in r), JSON.stringify(r));
  return r;
}

Deno.test("a request head parses into method, target, version and headers", () => {
  const r = head("GET /bytes/10 HTTP/1.1\r\nHost: x\r\nAccept: a\r\naccept: b\r\nX-Empty:");
  deepEqual([r.method, r.target, r.minor], ["GET", "/bytes/10", 1]);
  deepEqual([...r.headers], [["host", "x"], ["accept", "a, b"], ["x-empty", ""]]);
});

Deno.test("garbage heads are 400 and other major versions 505", () => {
  for (
    const bad of [
      "",
      "GET",
      "GET /",
      "GET / HTTP/1.1 extra",
      "\x00\x01\x02",
      "GET / HTTP/1.1\r\nno colon",
    ]
  ) {
    deepEqual(parseRequestHead(bad), { status: 400 }, JSON.stringify(bad));
  }
  deepEqual(parseRequestHead("GET / HTTP/1.1\r\nContent-Length: -1"), { status: 400 });
  deepEqual(parseRequestHead("GET / HTTP/2.0"), { status: 505 });
});

Deno.test("keep-alive is the HTTP/1.1 default, opt-in for 1.0, and Connection: close ends it", () => {
  equal(keepAlive(head("GET / HTTP/1.1")), true);
  equal(keepAlive(head("GET / HTTP/1.1\r\nConnection: Keep-Alive, Close")), false);
  equal(keepAlive(head("GET / HTTP/1.0")), false);
  equal(keepAlive(head("GET / HTTP/1.0\r\nConnection: keep-alive")), true);
});

Deno.test("the end of a head is found after CRLFCRLF or LFLF, pipelined data left over", () => {
  equal(headEnd(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET")), 27);
  equal(headEnd(enc.encode("GET / HTTP/1.0\n\n")), 16);
  equal(headEnd(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n")), -1);
});

Deno.test("routes and response heads", () => {
  equal(bytesPath("/bytes/65536"), 65536);
  equal(bytesPath("/bytes/0?x=1"), 0);
  equal(bytesPath("/bytes/-1"), undefined);
  equal(bytesPath("/bytes/"), undefined);
  const h = responseHead(404, "text/plain", 14, true);
  ok(h.startsWith("HTTP/1.1 404 Not Found\r\n"));
  ok(h.includes("\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"));
  const page = indexPage("a<b", [], 3);
  ok(page.includes("<h1>Serin host a&lt;b</h1>"));
});

/** nc's arguments for one GET of /bytes/3 from `host` port 8080. */
const get = (
  host: string,
) => ["-N", "-w", "5", "-e", "GET /bytes/3 HTTP/1.0\\r\\n\\r\\n", host, "8080"];

Deno.test("httpd serves 127.0.0.1 and ::1 on one port and logs IPv4 peers unmapped", async () => {
  const t = await bootCollecting();
  try {
    const httpd = await t.sys.start("httpd", ["-p", "8080"]);
    await t.waitFor(httpd, "httpd: listening on [::]:8080\n");
    for (const host of ["127.0.0.1", "::1"]) {
      match(await t.runOk("nc", get(host)), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\0\0\0$/, host);
    }
    await t.waitFor(httpd, '::1 "GET /bytes/3 HTTP/1.0" 200 3\n');
    match(t.output(httpd), /\n127\.0\.0\.1 "GET \/bytes\/3 HTTP\/1\.0" 200 3\n/);
  } finally {
    await t.sys.shutdown();
  }
});

Deno.test("httpd -4 refuses ::1 and httpd -6 refuses 127.0.0.1", async () => {
  for (const [flag, served, refused] of [["-4", "127.0.0.1", "::1"], ["-6", "::1", "127.0.0.1"]]) {
    const t = await bootCollecting();
    try {
      const httpd = await t.sys.start("httpd", ["-p", "8080", "-q", flag]);
      await t.waitFor(httpd, "listening");
      match(await t.runOk("nc", get(served)), /^HTTP\/1\.1 200 OK\r\n/, `${flag} ${served}`);
      const r = await t.sys.run("nc", get(refused));
      equal(r.status, 1, `${flag} ${refused}: ${r.stdout}`);
      match(r.stderr, /\(tcp\) failed: connection refused\n$/);
    } finally {
      await t.sys.shutdown();
    }
  }
});
