/**
 * Command-line conventions shared by every tool: option parsing with `node:util`'s parseArgs,
 * number and host arguments, `--help`, and turning failures into a one-line message and an
 * exit status (2 for usage errors, 1 for failed system calls) instead of a stack trace.
 */
import { parseArgs } from "node:util";
import {
  AF_INET,
  AF_INET6,
  ErrnoError,
  GaiError,
  getaddrinfo,
  inet_ntop,
  inet_pton,
  SOCK_DGRAM,
} from "../libc/mod.ts";

/** A bad command line: reported as `tool: message` plus the usage line, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Options of {@link parseCommand}, in parseArgs' shape. */
export type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean }
>;

/** Parsed option values: strings (or arrays of them) and booleans. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Parse `args` against `options` (strict); `-h`/`--help` is always accepted. */
export function parseCommand(
  args: string[],
  options: OptionSpec,
): { values: OptionValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { help: { type: "boolean", short: "h" }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as OptionValues, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A string option's value, or undefined. */
export function str(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return typeof v === "string" ? v : undefined;
}

/** Parse an integer argument in [min, max], or throw a {@link UsageError} naming it. */
export function intArg(text: string, what: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`invalid ${what}: '${text}' (expected an integer from ${min} to ${max})`);
  }
  return n;
}

/** Parse a decimal number argument in [min, max], or throw a {@link UsageError} naming it. */
export function numArg(text: string, what: string, min: number, max: number): number {
  const n = /^\d*\.?\d+$/.test(text.trim()) || /^\d+\.$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`invalid ${what}: '${text}' (expected a number from ${min} to ${max})`);
  }
  return n;
}

/** A port number argument (1–65535, or 0 when `allowZero`). */
export function portArg(text: string, allowZero = false): number {
  return intArg(text, "port", allowZero ? 0 : 1, 65535);
}

/** A resolved host: address family and numeric address text. */
export interface Host {
  family: typeof AF_INET | typeof AF_INET6;
  addr: string;
  /** IPv6 zone from "fe80::1%eth0": an interface name or index, resolved by `scopeIdOf`. */
  scope?: string;
  /** The name it was resolved from, when it was given as a name ("beta"). */
  name?: string;
}

/** How a host is shown: the address, with its zone when it has one ("fe80::1%eth0"). */
export function hostText(h: Host): string {
  return h.scope === undefined ? h.addr : `${h.addr}%${h.scope}`;
}

/**
 * A host argument that is an address literal: an IPv4 or IPv6 address (returned in canonical
 * form, an IPv6 zone like "%eth0" kept apart). Undefined when `text` is not a literal.
 * `family` (from -4/-6) restricts the answer; a literal of the other family is an error.
 */
export function hostLiteral(text: string, family?: number): Host | undefined {
  const v4 = inet_pton(AF_INET, text);
  if (v4 && family !== AF_INET6) return { family: AF_INET, addr: inet_ntop(AF_INET, v4)! };
  const v6 = inet_pton(AF_INET6, text);
  if (v6 && family !== AF_INET) {
    const pct = text.indexOf("%");
    const addr = inet_ntop(AF_INET6, v6)!;
    if (pct < 0) return { family: AF_INET6, addr };
    const scope = text.slice(pct + 1);
    if (!/^[A-Za-z0-9_.-]+$/.test(scope)) throw new UsageError(`${text}: invalid zone`);
    return { family: AF_INET6, addr, scope };
  }
  if (v4 || v6) throw new UsageError(`${text}: Address family for hostname not supported`);
  return undefined;
}

/**
 * Resolve a host argument: an address literal (see {@link hostLiteral}), or a name looked up with
 * getaddrinfo (the hosts table, then DNS) whose first address, in glibc's order, is the answer;
 * `name` then keeps what was typed. A name that does not resolve is a {@link GaiError}
 * ("beta: Name or service not known"), which {@link tool} reports with status 2 as Linux's
 * ping does.
 */
export async function resolveHost(text: string, family?: number): Promise<Host> {
  const lit = hostLiteral(text, family);
  if (lit) return lit;
  if (text === "" || text.includes("%")) throw new GaiError("EAI_NONAME", text);
  const [first] = await getaddrinfo(text, undefined, { family: family ?? 0, socktype: SOCK_DGRAM });
  if (!first) throw new GaiError("EAI_NONAME", text);
  const a = first.addr as { addr: string; scopeId?: number };
  const host: Host = { family: first.family, addr: a.addr, name: text };
  if (a.scopeId) host.scope = String(a.scopeId);
  return host;
}

/** How a host given by name prints in a tool's header line: "beta (10.0.0.2)". */
export function hostTitle(h: Host): string {
  return h.name === undefined ? `${hostText(h)} (${hostText(h)})` : `${h.name} (${hostText(h)})`;
}

/** The family chosen by -4/-6 flags, or undefined when neither was given. */
export function familyFlag(values: OptionValues): number | undefined {
  if (values["4"] && values["6"]) throw new UsageError("-4 and -6 are mutually exclusive");
  if (values["6"]) return AF_INET6;
  if (values["4"]) return AF_INET;
  return undefined;
}

/** A tool's body: parses its own arguments and returns an exit status. */
export type ToolBody = (args: string[]) => Promise<number>;

/**
 * Wrap a tool's body into a program's default export: `-h`/`--help` prints `usage` to stdout,
 * a {@link UsageError} prints `name: message` and the usage line to stderr with status 2, an
 * {@link ErrnoError} prints `name: message` with `errnoStatus` (default 1), a {@link GaiError}
 * (a name that does not resolve) `name: message` with status 2, as Linux's ping, anything else
 * prints `name: message` with status 1. Never a stack trace.
 *
 * @example
 * export default tool("ping", USAGE, async (args) => { … return 0; });
 */
export function tool(
  name: string,
  usage: string,
  body: ToolBody,
  errnoStatus = 1,
): (args: string[]) => Promise<number> {
  return async (args: string[]) => {
    if (args.includes("-h") || args.includes("--help")) {
      console.log(usage.trimEnd());
      return 0;
    }
    try {
      return await body(args);
    } catch (err) {
      if (err instanceof UsageError) {
        console.error(`${name}: ${err.message}\n${usage.trimStart().split("\n")[0]}`);
        return 2;
      }
      if (err instanceof ErrnoError) {
        console.error(`${name}: ${err.message}`);
        return errnoStatus;
      }
      if (err instanceof GaiError) {
        console.error(`${name}: ${err.message}`);
        return 2;
      }
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
  };
}
