/** The services table (/etc/services): the well-known ports Serin's tools and labs use. */

/** One service: its name, port and the protocols it is defined for. */
interface Service {
  name: string;
  port: number;
  protos: Array<"tcp" | "udp">;
}

const BOTH: Array<"tcp" | "udp"> = ["tcp", "udp"];

/** Debian's netbase entries for the ports the tools and tests use. */
const SERVICES: Service[] = [
  { name: "echo", port: 7, protos: BOTH },
  { name: "discard", port: 9, protos: BOTH },
  { name: "daytime", port: 13, protos: BOTH },
  { name: "ftp", port: 21, protos: ["tcp"] },
  { name: "ssh", port: 22, protos: ["tcp"] },
  { name: "telnet", port: 23, protos: ["tcp"] },
  { name: "smtp", port: 25, protos: ["tcp"] },
  { name: "domain", port: 53, protos: BOTH },
  { name: "bootps", port: 67, protos: ["udp"] },
  { name: "bootpc", port: 68, protos: ["udp"] },
  { name: "http", port: 80, protos: ["tcp"] },
  { name: "ntp", port: 123, protos: ["udp"] },
  { name: "https", port: 443, protos: ["tcp"] },
  { name: "ttcp", port: 5001, protos: ["tcp"] },
];

/** The port and protocols of service `name` ("http"), or undefined when unknown. */
export function serviceByName(name: string): Service | undefined {
  return SERVICES.find((s) => s.name === name.toLowerCase());
}

/** The name of `port` for `proto`, or undefined when it has none. */
export function serviceByPort(port: number, proto: "tcp" | "udp"): string | undefined {
  return SERVICES.find((s) => s.port === port && s.protos.includes(proto))?.name;
}
