import { deepEqual, equal } from "node:assert/strict";
import type { SocketInfo } from "../kernel/bus/messages.ts";
import {
  formatDataPath,
  formatEndpoint,
  formatSockets,
  formatStats,
  isListening,
} from "./netstat.ts";

const SOCKETS: SocketInfo[] = [
  {
    proto: "tcp",
    local: "0.0.0.0:80",
    remote: "0.0.0.0:*",
    state: "LISTEN",
    recvQ: 0,
    sendQ: 0,
    pids: [3],
  },
  {
    proto: "tcp",
    local: "10.0.0.1:80",
    remote: "10.0.0.2:40000",
    state: "ESTABLISHED",
    recvQ: 5,
    sendQ: 1000,
    pids: [3],
  },
  {
    proto: "udp",
    local: "0.0.0.0:7",
    remote: "0.0.0.0:*",
    state: "",
    recvQ: 0,
    sendQ: 0,
    pids: [4],
  },
  {
    proto: "tcp6",
    local: "[::]:22",
    remote: "[::]:*",
    state: "LISTEN",
    recvQ: 0,
    sendQ: 0,
    pids: [],
  },
];

const ALL = { tcp: true, udp: true, raw: true, listening: false, all: false };

Deno.test("endpoints drop IPv6 brackets and name well-known ports unless numeric", () => {
  equal(formatEndpoint("[::]:22", true), ":::22");
  equal(formatEndpoint("[::]:22", false), ":::ssh");
  equal(formatEndpoint("0.0.0.0:*", false), "0.0.0.0:*");
  equal(formatEndpoint("10.0.0.1:40000", false), "10.0.0.1:40000");
});

Deno.test("listening means TCP LISTEN or an unconnected datagram socket", () => {
  deepEqual(SOCKETS.map(isListening), [true, false, true, true]);
});

Deno.test("default shows connected sockets, -l servers, -a everything, -p owners", () => {
  deepEqual(formatSockets(SOCKETS, ALL, true), [
    "Active Internet connections (w/o servers)",
    "Proto Recv-Q Send-Q Local Address           Foreign Address         State",
    "tcp        5   1000 10.0.0.1:80             10.0.0.2:40000          ESTABLISHED",
  ]);
  const l = formatSockets(
    SOCKETS,
    { ...ALL, listening: true, udp: false },
    true,
    new Map([[3, "httpd"]]),
  );
  deepEqual(l, [
    "Active Internet connections (only servers)",
    "Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name",
    "tcp        0      0 0.0.0.0:80              0.0.0.0:*               LISTEN      3/httpd",
    "tcp6       0      0 :::22                   :::*                    LISTEN      -",
  ]);
  equal(formatSockets(SOCKETS, { ...ALL, all: true }, true).length, 6);
});

Deno.test("statistics print as nested name: value lines", () => {
  deepEqual(formatStats({ tcp: { activeOpens: 2 }, drops: 1 }), [
    "tcp:",
    "    activeOpens: 2",
    "drops: 1",
  ]);
});

Deno.test("-e shows each TCP connection's data path: messages, or shared rings and their fill", () => {
  const bulk = { ...SOCKETS[1], rings: { size: 2 << 20, tx: 1536 << 10, rx: 212 } };
  equal(formatDataPath(SOCKETS[1]), "messages");
  equal(formatDataPath(bulk), "rings 2M tx 1.5M rx 212");
  deepEqual(formatSockets([SOCKETS[0], bulk], { ...ALL, all: true }, true, undefined, true), [
    "Active Internet connections (servers and established)",
    "Proto Recv-Q Send-Q Local Address           Foreign Address         State       Data path",
    "tcp        0      0 0.0.0.0:80              0.0.0.0:*               LISTEN      -",
    "tcp        5   1000 10.0.0.1:80             10.0.0.2:40000          ESTABLISHED rings 2M tx 1.5M rx 212",
  ]);
});
