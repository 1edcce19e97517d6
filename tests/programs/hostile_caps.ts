/**
 * Test program: tries what capabilities guard and prints one line per attempt, "NAME ok" or
 * "NAME CODE". MODE `caps`: bind port 80 (net_bind_service), a raw ICMP socket (net_raw),
 * netctl ifaddr and route add (net_admin), and a forged fd (always EBADF). MODE `hold PATH`:
 * bind an AF_LOCAL socket at PATH, print "fd N ready" and block. MODE `probe`: look at fd 3
 * before and after opening a socket of its own. MODE `spawn PATH`: try to run PATH as a program.
 */
import {
  AF_INET,
  AF_LOCAL,
  bind,
  ErrnoError,
  getsockname,
  inet,
  IPPROTO_ICMP,
  local,
  netctl,
  print,
  recv,
  send,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  socket,
  socketpair,
  spawn,
} from "../../libc/mod.ts";

async function attempt(name: string, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
    print(`${name} ok`);
  } catch (err) {
    if (!(err instanceof ErrnoError)) throw err;
    print(`${name} ${err.code}`);
  }
}

export default async function main([mode, path]: string[]): Promise<number> {
  switch (mode) {
    case "caps":
      await attempt(
        "bind80",
        async () => bind(await socket(AF_INET, SOCK_DGRAM), inet("0.0.0.0", 80)),
      );
      await attempt(
        "bind1024",
        async () => bind(await socket(AF_INET, SOCK_DGRAM), inet("0.0.0.0", 1024)),
      );
      await attempt("raw", () => socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
      await attempt(
        "ifaddr",
        () => netctl({ op: "ifaddr", iface: "lo", action: "add", cidr: "10.77.0.1/24" }),
      );
      await attempt(
        "route",
        () => netctl({ op: "route", action: "add", dest: "10.78.0.0/16", gateway: "10.77.0.2" }),
      );
      await attempt("routes", () => netctl({ op: "routes" }));
      await attempt("badfd", () => send(777, "x"));
      return 0;
    case "hold": {
      const fd = await socket(AF_LOCAL, SOCK_STREAM);
      await bind(fd, local(path));
      print(`fd ${fd} ready`);
      const [x] = await socketpair(AF_LOCAL, SOCK_STREAM);
      await recv(x);
      return 0;
    }
    case "probe": {
      await attempt("fd3-before", () => getsockname(3));
      const fd = await socket(AF_LOCAL, SOCK_STREAM);
      const name = await getsockname(fd);
      print(`own fd ${fd} path ${"path" in name ? name.path || "-" : "-"}`);
      return 0;
    }
    case "spawn":
      // PATH should not be loadable as a program from inside the system.
      await attempt("spawn", () => spawn(path));
      return 0;
    default:
      print(`unknown mode ${mode}`);
      return 2;
  }
}
