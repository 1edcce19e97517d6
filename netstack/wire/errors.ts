/** Why a parser refused some bytes. */
export type ParseReason =
  | "truncated"
  | "bad-length"
  | "bad-checksum"
  | "bad-version"
  | "unsupported"
  | "malformed";

/**
 * The one error type a wire parser throws: any other exception from `netstack/wire/` is a bug.
 * `reason` is stable and meant for drop counters (`ipv4: truncated`).
 */
export class WireError extends Error {
  override name = "WireError";
  constructor(
    /** Protocol that refused the bytes, e.g. "ipv4". */
    readonly protocol: string,
    /** Machine-readable reason, used as a drop counter key. */
    readonly reason: ParseReason,
    detail?: string,
  ) {
    super(`${protocol}: ${reason}${detail ? `: ${detail}` : ""}`);
  }
}
