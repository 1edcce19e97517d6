/**
 * The `link` command's words, modelled on `ip link` and `tc netem`, turned into a link control
 * request, and `link show`'s output:
 *
 * ```text
 * link show [NAME]
 * link set NAME [up|down] [clear] [loss P [gemodel P R]] [delay T [J]] [jitter J] [dup P]
 *              [reorder P] [corrupt P] [rate R]
 * ```
 *
 * Probabilities are percentages as tc writes them (`5%`, or `5`); times take `us`, `ms` or `s`
 * (a bare number is ms); rates `bit`, `kbit`, `mbit`, `gbit` or bytes `bps`, `kbps`, `mbps`,
 * `gbps`. A value of 0 removes that impairment; `clear` removes them all.
 */
import type { LinkCtl, LinkFaults, LinkInfo } from "../kernel/bus/messages.ts";

/** Usage text of the `link` command. */
export const LINK_USAGE = `Usage: link show [NAME]
       link set NAME [up|down] [clear] [loss P [gemodel P R]] [delay T [JITTER]] [jitter T]
                     [dup P] [reorder P] [corrupt P] [rate R]
  e.g. link set lan loss 5% delay 20ms jitter 5ms rate 10mbit;  link set lan down`;

/** Parse the words after `link`: a request, and for `show` the one link asked for, or an error. */
export function parseLinkCommand(
  args: string[],
): { req: LinkCtl; only?: string } | { error: string } {
  const [verb = "show", ...rest] = args;
  if (verb === "show" || verb === "list" || verb === "ls") {
    if (rest.length > 1) return { error: `link show: one link at most\n${LINK_USAGE}` };
    return { req: { op: "links" }, only: rest[0] };
  }
  if (verb !== "set") return { error: `link: unknown command ${verb}\n${LINK_USAGE}` };
  const [link, ...words] = rest;
  if (!link) return { error: `link set: which link?\n${LINK_USAGE}` };
  const req: Extract<LinkCtl, { op: "linkset" }> = { op: "linkset", link };
  const faults: LinkFaults = {};
  const fail = (why: string) => ({ error: `link set ${link}: ${why}` });
  for (let i = 0; i < words.length; i++) {
    const w = words[i].toLowerCase();
    const need = (parse: (s: string) => number | undefined, what: string) => {
      const value = words[i + 1];
      const v = value === undefined ? undefined : parse(value);
      if (v === undefined) throw new Error(`${w} needs ${what}, not ${value ?? "nothing"}`);
      i++;
      return v;
    };
    try {
      switch (w) {
        case "up":
        case "down":
          req.up = w === "up";
          break;
        case "clear":
          req.clear = true;
          break;
        case "loss":
          if (words[i + 1]?.toLowerCase() === "random") i++;
          if (words[i + 1]?.toLowerCase() === "gemodel") {
            i++;
            faults.geP = need(parsePercent, "a percentage like 1%");
            faults.geR = need(parsePercent, "a percentage like 30%");
          } else faults.loss = need(parsePercent, "a percentage like 5%");
          break;
        case "delay":
          faults.delayMs = need(parseTime, "a time like 20ms");
          if (words[i + 1] !== undefined && parseTime(words[i + 1]) !== undefined) {
            faults.jitterMs = parseTime(words[++i]);
          }
          break;
        case "jitter":
          faults.jitterMs = need(parseTime, "a time like 5ms");
          break;
        case "dup":
        case "duplicate":
          faults.dup = need(parsePercent, "a percentage like 1%");
          break;
        case "reorder":
          faults.reorder = need(parsePercent, "a percentage like 5%");
          break;
        case "corrupt":
          faults.corrupt = need(parsePercent, "a percentage like 0.1%");
          break;
        case "rate":
          faults.rateBitsPerSec = need(parseRate, "a rate like 10mbit");
          break;
        default:
          return fail(`unknown word ${words[i]}\n${LINK_USAGE}`);
      }
    } catch (err) {
      return fail((err as Error).message);
    }
  }
  if (Object.keys(faults).length > 0) req.faults = faults;
  if (req.up === undefined && !req.clear && !req.faults) return fail(`nothing to change`);
  return { req };
}

/** `link show`'s lines: one per link, its faults, then each cable's counters. */
export function formatLinks(links: LinkInfo[]): string {
  return links.map((l) => {
    const state = l.up ? "UP" : "DOWN";
    const faults = formatFaults(l.faults);
    const head = `${l.name}: <${l.kind}> state ${state}${l.controllable ? "" : " (fast path)"}` +
      (faults ? `\n    netem ${faults}` : "");
    const d = l.drops;
    const drops = `    dropped: lost ${d.lost} down ${d.down} rate ${d.rateDropped}; ` +
      `duplicated ${d.duplicated} reordered ${d.reordered} corrupted ${d.corrupted}`;
    const ports = l.ports.map((p) =>
      `    ${p.label}: TX ${p.txFrames} frames ${p.txBytes} bytes, RX ${p.rxFrames} frames ${p.rxBytes} bytes`
    );
    return [head, drops, ...ports].join("\n");
  }).join("\n") + "\n";
}

/** Faults in tc netem's words, e.g. "loss 5% delay 20ms jitter 5ms rate 10mbit". */
export function formatFaults(f: LinkFaults): string {
  const pct = (p: number) => `${+(p * 100).toPrecision(6)}%`;
  const parts: string[] = [];
  if (f.loss) parts.push(`loss ${pct(f.loss)}`);
  if (f.geP !== undefined) parts.push(`loss gemodel ${pct(f.geP)} ${pct(f.geR ?? 1)}`);
  if (f.delayMs) parts.push(`delay ${f.delayMs}ms`);
  if (f.jitterMs) parts.push(`jitter ${f.jitterMs}ms`);
  if (f.dup) parts.push(`dup ${pct(f.dup)}`);
  if (f.reorder) parts.push(`reorder ${pct(f.reorder)}`);
  if (f.corrupt) parts.push(`corrupt ${pct(f.corrupt)}`);
  if (f.rateBitsPerSec) parts.push(`rate ${formatRate(f.rateBitsPerSec)}`);
  return parts.join(" ");
}

/** A rate in tc's words: "10mbit". */
export function formatRate(bits: number): string {
  for (const [unit, n] of [["gbit", 1e9], ["mbit", 1e6], ["kbit", 1e3]] as const) {
    if (bits >= n) return `${+(bits / n).toPrecision(6)}${unit}`;
  }
  return `${bits}bit`;
}

const NUMBER = /^(\d+(?:\.\d*)?|\.\d+)(e[+-]?\d+)?([a-z%]*)$/i;

/** "5%" or "5" → 0.05; undefined when not a number or above 100%. */
export function parsePercent(s: string): number | undefined {
  const m = NUMBER.exec(s);
  if (!m || (m[3] !== "" && m[3] !== "%")) return undefined;
  const v = Number(m[1] + (m[2] ?? "")) / 100;
  return v >= 0 && v <= 1 ? v : undefined;
}

/** "20ms", "500us", "1s", "20" → milliseconds. */
export function parseTime(s: string): number | undefined {
  const m = NUMBER.exec(s);
  const scale: Record<string, number> = { "": 1, us: 0.001, usec: 0.001, ms: 1, msec: 1, s: 1000 };
  if (!m || !Object.hasOwn(scale, m[3].toLowerCase())) return undefined;
  return Number(m[1] + (m[2] ?? "")) * scale[m[3].toLowerCase()];
}

/** "10mbit", "1gbit", "100kbit", "5mbps" (bytes) → bits per second. */
export function parseRate(s: string): number | undefined {
  const m = NUMBER.exec(s);
  const scale: Record<string, number> = {
    "": 1,
    bit: 1,
    kbit: 1e3,
    mbit: 1e6,
    gbit: 1e9,
    bps: 8,
    kbps: 8e3,
    mbps: 8e6,
    gbps: 8e9,
  };
  if (!m || !Object.hasOwn(scale, m[3].toLowerCase())) return undefined;
  return Number(m[1] + (m[2] ?? "")) * scale[m[3].toLowerCase()];
}
