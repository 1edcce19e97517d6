/**
 * File capabilities of Serin's own tools, as `setcap cap_net_raw+ep /usr/bin/ping` gives them on
 * Linux: a process running one of these modules gets the listed capabilities on top of what its
 * starter gave it, whoever starts it. Only the modules in Serin's `tools/` folder are listed, by
 * their exact URL: a user's program (or any other path that names a tool's module differently)
 * never gets file capabilities.
 *
 * What each tool needs, checked against the tool's code:
 * - `ping`, `traceroute`: a raw ICMP socket (`net_raw`), as iputils ping does with its file
 *   capability (and as traceroute needed before its unprivileged UDP mode).
 * - `httpd`, `echo`, `discard`, `dnsd`: services whose default ports are below 1024
 *   (`net_bind_service`).
 * - `ifconfig`, `route`, `arp`, `ndp`: nothing. Showing the configuration works unprivileged;
 *   changing it needs `net_admin`, which on Linux comes from sudo and here from `--root` or
 *   `--caps net_admin`. Giving it to the tools would let any user reconfigure the network.
 * - `nc`, `netstat`, `ttcp`, `demo`: nothing (on Linux `nc -l -p 7` as a user fails with EACCES).
 */
import type { Capability } from "./abi.ts";

const TOOLS = new URL("../tools/", import.meta.url);

const TABLE: Record<string, readonly Capability[]> = {
  ping: ["net_raw"],
  traceroute: ["net_raw"],
  httpd: ["net_bind_service"],
  echo: ["net_bind_service"],
  discard: ["net_bind_service"],
  dnsd: ["net_bind_service"],
};

/** The file capabilities of the module at `url` (a resolved module URL); none for most. */
export function fileCaps(url: string): readonly Capability[] {
  for (const [tool, caps] of Object.entries(TABLE)) {
    if (url === new URL(`${tool}.ts`, TOOLS).href) return caps;
  }
  return [];
}
