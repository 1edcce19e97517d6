/**
 * Test helpers that run tshark (Wireshark's CLI) over a pcap file: the independent dissector
 * Serin's wire formats are checked against. Tests that need tshark register through
 * {@link tsharkTest}, which skips loudly (never passes silently) when tshark is missing.
 */

/** Preferences that make tshark verify IPv4, TCP and UDP checksums (off by default). */
export const TSHARK_CHECKSUM_PREFS: readonly string[] = [
  "ip.check_checksum:TRUE",
  "tcp.check_checksum:TRUE",
  "udp.check_checksum:TRUE",
];

/** Expert-info severities, as tshark prints them in `_ws.expert.severity`. */
const SEVERITY: Record<number, ExpertSeverity> = {
  0x00200000: "chat",
  0x00400000: "note",
  0x00600000: "warning",
  0x00800000: "error",
};

/** Expert-info group, as tshark prints it in `_ws.expert.group`. */
const GROUP: Record<number, string> = {
  0x01000000: "checksum",
  0x02000000: "sequence",
  0x03000000: "response-code",
  0x04000000: "request-code",
  0x05000000: "undecoded",
  0x06000000: "reassemble",
  0x07000000: "malformed",
  0x08000000: "debug",
  0x09000000: "protocol",
  0x0a000000: "security",
  0x0b000000: "comment",
  0x0c000000: "decryption",
  0x0d000000: "assumption",
  0x0e000000: "deprecated",
};

/** Severity of a tshark expert-info item. */
export type ExpertSeverity = "chat" | "note" | "warning" | "error" | "unknown";

/** One tshark expert-info item (e.g. a bad checksum) or a malformed-packet mark. */
export interface TsharkProblem {
  /** 1-based frame number in the pcap. */
  frame: number;
  severity: ExpertSeverity;
  /** Expert group, e.g. "checksum" or "malformed". */
  group: string;
  message: string;
}

let cached: boolean | undefined;

/** True when a working `tshark` is on PATH (checked once per process). */
export function haveTshark(): boolean {
  if (cached === undefined) {
    try {
      cached = new Deno.Command("tshark", { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      cached = false;
    }
  }
  return cached;
}

/**
 * Register a Deno test that needs tshark. Without tshark it prints
 * "SKIPPED: tshark not installed" to stderr and registers the test with `ignore: true`, its
 * name ending in "(SKIPPED: tshark not installed)".
 */
export function tsharkTest(name: string, fn: () => void | Promise<void>): void {
  const ignore = !haveTshark();
  if (ignore) console.error(`SKIPPED: tshark not installed (${name})`);
  Deno.test({ name: ignore ? `${name} (SKIPPED: tshark not installed)` : name, ignore, fn });
}

/** One dissected frame: field name to the values tshark printed, in order. */
export type TsharkFrame = Record<string, string[]>;

/**
 * Run tshark over `pcapPath` and return, per frame, the values of the requested fields
 * (`-T json -e …`). `prefs` are passed as `-o` options, `dataPorts` (such as "udp.port==7007")
 * are decoded as plain data; the checksum checks are always on.
 */
export async function tsharkFields(
  pcapPath: string,
  fields: readonly string[],
  prefs: readonly string[] = [],
  dataPorts: readonly string[] = [],
): Promise<TsharkFrame[]> {
  const args = ["-n", "-r", pcapPath, "-T", "json"];
  for (const p of [...TSHARK_CHECKSUM_PREFS, ...prefs]) args.push("-o", p);
  for (const d of dataPorts) args.push("-d", `${d},data`);
  for (const f of fields) args.push("-e", f);
  const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`Cannot run tshark on ${pcapPath}: ${new TextDecoder().decode(out.stderr)}`);
  }
  const parsed: Array<{ _source: { layers: TsharkFrame } }> = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  return parsed.map((p) => p._source.layers);
}

/**
 * Run tshark over `pcapPath` with checksum checks on and return every expert-info item of
 * warning severity or worse, plus every malformed-packet mark. An empty list means tshark
 * found nothing wrong.
 */
export async function tsharkProblems(
  pcapPath: string,
  prefs: readonly string[] = [],
  dataPorts: readonly string[] = [],
): Promise<TsharkProblem[]> {
  const frames = await tsharkFields(
    pcapPath,
    [
      "frame.number",
      "_ws.expert.severity",
      "_ws.expert.group",
      "_ws.expert.message",
      "_ws.malformed",
    ],
    prefs,
    dataPorts,
  );
  const problems: TsharkProblem[] = [];
  for (const f of frames) {
    const frame = Number(f["frame.number"]?.[0]);
    const severities = f["_ws.expert.severity"] ?? [];
    const groups = f["_ws.expert.group"] ?? [];
    const messages = f["_ws.expert.message"] ?? [];
    for (let i = 0; i < severities.length; i++) {
      const severity = SEVERITY[Number(severities[i])] ?? "unknown";
      if (severity === "chat" || severity === "note") continue;
      const group = GROUP[Number(groups[i])] ?? `0x${Number(groups[i]).toString(16)}`;
      problems.push({ frame, severity, group, message: messages[i] ?? "" });
    }
    if (f["_ws.malformed"] !== undefined) {
      problems.push({ frame, severity: "error", group: "malformed", message: "malformed packet" });
    }
  }
  return problems;
}
