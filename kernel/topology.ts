/**
 * Topology files for `deno task run --config FILE.json`: hosts, their interfaces (driver, MAC,
 * MTU, link, addresses), routes, switches with Linux TAP devices as ports, and programs started
 * at boot. {@link parseTopology} checks everything and names the offending field in one clear
 * message.
 */
import type {
  HostSetup,
  IfaceSetup,
  NetSetup,
  RouteSetup,
  SwitchSetup,
  SwitchTapSetup,
} from "./net_setup.ts";
import { FaultSpecError, parseFaultSpec } from "../drivers/link/faults.ts";

/** A program started at boot on a host. */
export interface BootProgram {
  host: string;
  /** "PROG ARGS", e.g. "httpd -p 80". */
  cmd: string;
}

/** An interface configured by DHCP (`"addrs": ["dhcp"]`): boot runs tools/dhcpc.ts on it. */
export interface DhcpInterface {
  host: string;
  iface: string;
}

/** A parsed topology: the network plus programs to start. */
export interface Topology {
  net: NetSetup;
  exec: BootProgram[];
  /** Interfaces whose address comes from DHCP; absent or empty when none. */
  dhcp?: DhcpInterface[];
}

/** A topology file with a problem; the message names the field. */
export class TopologyError extends Error {
  override name = "TopologyError";
}

const DRIVERS = ["wire", "e1000", "rtl8139", "virtio"] as const;
const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
/** A switch name: what hosts' `link` fields use (never `tap:…`). */
const SWITCH_NAME = /^[a-z][a-z0-9_-]{0,31}$/i;
/** A Linux interface name (IFNAMSIZ 16 with the NUL; no "/", ":" or blanks: dev_valid_name). */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

function fail(path: string, what: string): never {
  throw new TopologyError(`${path}: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(path: string, o: Record<string, unknown>, allowed: string[]) {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${path}.${k}`, "unknown field");
}

function validIpv4(text: string): boolean {
  const m = IPV4.exec(text);
  return !!m && m.slice(1, 5).every((x) => Number(x) <= 255);
}

function validCidr(text: string): boolean {
  const m = CIDR4.exec(text);
  if (m) return m.slice(1, 5).every((x) => Number(x) <= 255) && Number(m[5]) <= 32;
  return /^[0-9a-fA-F:]+\/\d{1,3}$/.test(text) && Number(text.split("/")[1]) <= 128;
}

/** Check a parsed JSON value and turn it into a {@link Topology}. */
export function parseTopology(json: unknown): Topology {
  if (!isObject(json)) fail("topology", "must be an object with a hosts array");
  checkKeys("topology", json, ["hosts", "switches", "faults", "pcap", "exec"]);
  const switches = json.switches === undefined ? undefined : parseSwitches(json.switches);
  // A network of switches alone (Serin as a link emulator between Linux hosts) needs no host.
  const hostList = json.hosts === undefined && switches !== undefined ? [] : json.hosts;
  if (!Array.isArray(hostList) || (hostList.length === 0 && switches === undefined)) {
    fail("hosts", switches ? "must be an array" : "must be a non-empty array");
  }
  const names = new Set<string>();
  const dhcp: DhcpInterface[] = [];
  const hosts: HostSetup[] = hostList.map((h, hi) => {
    const p = `hosts[${hi}]`;
    if (!isObject(h)) fail(p, "must be an object");
    checkKeys(p, h, ["name", "ifaces", "routes", "forwarding", "resolver"]);
    if (typeof h.name !== "string" || !/^[a-z][a-z0-9-]{0,31}$/i.test(h.name)) {
      fail(`${p}.name`, "must be a name of letters, digits and dashes");
    }
    if (names.has(h.name)) fail(`${p}.name`, `duplicate host ${h.name}`);
    names.add(h.name);
    if (h.forwarding !== undefined && typeof h.forwarding !== "boolean") {
      fail(`${p}.forwarding`, "must be true or false");
    }
    const ifaces: IfaceSetup[] = (h.ifaces === undefined ? [] : asArray(`${p}.ifaces`, h.ifaces))
      .map((f, fi) => {
        const q = `${p}.ifaces[${fi}]`;
        if (!isObject(f)) fail(q, "must be an object");
        checkKeys(q, f, ["name", "driver", "mac", "mtu", "link", "addrs"]);
        if (typeof f.link !== "string" || f.link === "") {
          fail(`${q}.link`, "must name a switch, or tap:IFNAME");
        }
        const link = f.link;
        const onSwitch = link.startsWith("tap:") && switches &&
          Object.entries(switches).find(([, s]) => s.taps?.some((t) => t.name === link.slice(4)));
        if (onSwitch) {
          fail(`${q}.link`, `${link.slice(4)} is already a port of switch ${onSwitch[0]}`);
        }
        if (
          f.name !== undefined &&
          (typeof f.name !== "string" || !/^[a-z][a-z0-9]{0,14}$/.test(f.name))
        ) {
          fail(`${q}.name`, "must be like eth0");
        }
        if (f.driver !== undefined && !(DRIVERS as readonly unknown[]).includes(f.driver)) {
          fail(`${q}.driver`, `must be one of ${DRIVERS.join(", ")}`);
        }
        if (f.mac !== undefined && (typeof f.mac !== "string" || !MAC.test(f.mac))) {
          fail(`${q}.mac`, "must be like 02:00:00:00:01:00");
        }
        if (
          f.mtu !== undefined &&
          (!Number.isInteger(f.mtu) || (f.mtu as number) < 576 || (f.mtu as number) > 65535)
        ) {
          fail(`${q}.mtu`, "must be an integer from 576 to 65535");
        }
        const addrs = f.addrs === undefined ? [] : asArray(`${q}.addrs`, f.addrs);
        addrs.forEach((a, ai) => {
          if (typeof a !== "string" || (a !== "dhcp" && !validCidr(a))) {
            fail(
              `${q}.addrs[${ai}]`,
              'must be an address in CIDR form like 10.0.0.1/24, or "dhcp"',
            );
          }
        });
        if (addrs.includes("dhcp")) {
          // The address comes later, from tools/dhcpc.ts; the netstack starts without it.
          dhcp.push({
            host: h.name as string,
            iface: (f.name as string | undefined) ?? `eth${fi}`,
          });
          return { ...f, addrs: addrs.filter((a) => a !== "dhcp") } as unknown as IfaceSetup;
        }
        return f as unknown as IfaceSetup;
      });
    const routes: RouteSetup[] = (h.routes === undefined ? [] : asArray(`${p}.routes`, h.routes))
      .map((r, ri) => {
        const q = `${p}.routes[${ri}]`;
        if (!isObject(r)) fail(q, "must be an object");
        checkKeys(q, r, ["dest", "gateway", "iface", "metric"]);
        if (typeof r.dest !== "string" || (r.dest !== "default" && !validCidr(r.dest))) {
          fail(`${q}.dest`, 'must be "default" or CIDR');
        }
        if (r.gateway !== undefined && (typeof r.gateway !== "string" || !validIpv4(r.gateway))) {
          fail(`${q}.gateway`, "must be an IPv4 address");
        }
        if (r.gateway === undefined && r.iface === undefined) {
          fail(q, "needs a gateway or an iface");
        }
        return r as unknown as RouteSetup;
      });
    const host: HostSetup = {
      name: h.name,
      ifaces,
      routes,
      forwarding: h.forwarding as boolean | undefined,
    };
    if (h.resolver !== undefined) host.resolver = parseResolver(`${p}.resolver`, h.resolver);
    return host;
  });
  if (json.faults !== undefined) checkFaults("faults", json.faults);
  if (json.pcap !== undefined && typeof json.pcap !== "string") fail("pcap", "must be a file name");
  const exec: BootProgram[] = (json.exec === undefined ? [] : asArray("exec", json.exec)).map(
    (e, ei) => {
      const q = `exec[${ei}]`;
      if (!isObject(e)) fail(q, "must be an object { host, cmd }");
      checkKeys(q, e, ["host", "cmd"]);
      if (typeof e.host !== "string" || !names.has(e.host)) fail(`${q}.host`, "must name a host");
      if (typeof e.cmd !== "string" || e.cmd.trim() === "") {
        fail(`${q}.cmd`, "must be a command line");
      }
      return { host: e.host, cmd: e.cmd };
    },
  );
  return {
    net: {
      hosts,
      ...(switches ? { switches } : {}),
      faults: json.faults as string | undefined,
      pcap: json.pcap as string | undefined,
    },
    exec,
    ...(dhcp.length ? { dhcp } : {}),
  };
}

/** Check a fault spec the way the hardware will parse it. */
function checkFaults(path: string, v: unknown): string {
  if (typeof v !== "string") fail(path, "must be a fault spec string like loss=0.05,delay=5ms");
  try {
    parseFaultSpec(v);
  } catch (err) {
    if (err instanceof FaultSpecError) fail(path, err.message);
    throw err;
  }
  return v;
}

/**
 * `"switches": {"sw1": {"taps": ["tapA", {"name": "tapB", "faults": "…"}], "faults": "…"}}`:
 * names, fields and fault specs checked, and no TAP a port twice.
 */
function parseSwitches(v: unknown): Record<string, SwitchSetup> {
  if (!isObject(v)) fail("switches", 'must be an object like {"sw1": {"taps": ["tapA"]}}');
  const out: Record<string, SwitchSetup> = {};
  const owner = new Map<string, string>();
  for (const [name, s] of Object.entries(v)) {
    const p = `switches.${name}`;
    if (!SWITCH_NAME.test(name)) fail(p, "a switch name is letters, digits, _ and -");
    if (!isObject(s)) fail(p, 'must be an object like {"taps": ["tapA"]}');
    checkKeys(p, s, ["taps", "faults"]);
    const sw: SwitchSetup = {};
    if (s.faults !== undefined) sw.faults = checkFaults(`${p}.faults`, s.faults);
    if (s.taps !== undefined) {
      sw.taps = asArray(`${p}.taps`, s.taps).map((t, ti): SwitchTapSetup => {
        const q = `${p}.taps[${ti}]`;
        const tap: SwitchTapSetup = typeof t === "string" ? { name: t } : tapObject(q, t);
        if (!IFNAME.test(tap.name) || tap.name === "." || tap.name === "..") {
          fail(q, "must be a Linux interface name (1 to 15 letters, digits, _ . -)");
        }
        const first = owner.get(tap.name);
        if (first !== undefined) {
          fail(
            q,
            `TAP ${tap.name} is already a port of ${
              first === name ? "this switch" : `switch ${first}`
            }`,
          );
        }
        owner.set(tap.name, name);
        return tap;
      });
    }
    out[name] = sw;
  }
  return out;
}

/** A host's `"resolver": { "nameservers": [IP…], "search": [DOMAIN…] }`. */
function parseResolver(path: string, v: unknown): NonNullable<HostSetup["resolver"]> {
  if (!isObject(v)) fail(path, "must be an object { nameservers, search }");
  checkKeys(path, v, ["nameservers", "search"]);
  const out: NonNullable<HostSetup["resolver"]> = {};
  if (v.nameservers !== undefined) {
    out.nameservers = asArray(`${path}.nameservers`, v.nameservers).map((a, i) => {
      if (
        typeof a !== "string" || !(validIpv4(a) || /^[0-9a-fA-F:]+$/.test(a) && a.includes(":"))
      ) {
        fail(`${path}.nameservers[${i}]`, "must be an IPv4 or IPv6 address");
      }
      return a;
    });
    if (out.nameservers.length > 3) fail(`${path}.nameservers`, "may name at most 3 servers");
  }
  if (v.search !== undefined) {
    out.search = asArray(`${path}.search`, v.search).map((d, i) => {
      if (typeof d !== "string" || !/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(d)) {
        fail(`${path}.search[${i}]`, "must be a domain like lab");
      }
      return d;
    });
    if (out.search.length > 6) fail(`${path}.search`, "may list at most 6 domains");
  }
  return out;
}

/** A TAP port written as an object: `{"name": "tapA", "faults": "…"}`. */
function tapObject(path: string, t: unknown): SwitchTapSetup {
  if (!isObject(t)) fail(path, 'must be a TAP name or {"name": "tapA", "faults": "…"}');
  checkKeys(path, t, ["name", "faults"]);
  if (typeof t.name !== "string") fail(`${path}.name`, "must be a Linux interface name");
  const tap: SwitchTapSetup = { name: t.name };
  if (t.faults !== undefined) tap.faults = checkFaults(`${path}.faults`, t.faults);
  return tap;
}

function asArray(path: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) fail(path, "must be an array");
  return v;
}
