/**
 * getaddrinfo's errors, one class like {@link ErrnoError}: a `code` name ("EAI_NONAME"), glibc's
 * number for it, and glibc's gai_strerror text, so a tool prints what Linux's would:
 * "ping: nosuch: Name or service not known".
 */

/** glibc's EAI_* values (netdb.h). */
export const EAI = {
  EAI_BADFLAGS: -1,
  EAI_NONAME: -2,
  EAI_AGAIN: -3,
  EAI_FAIL: -4,
  EAI_NODATA: -5,
  EAI_FAMILY: -6,
  EAI_SOCKTYPE: -7,
  EAI_SERVICE: -8,
  EAI_ADDRFAMILY: -9,
  EAI_MEMORY: -10,
  EAI_SYSTEM: -11,
  EAI_OVERFLOW: -12,
} as const;

/** An EAI_* name. */
export type GaiCode = keyof typeof EAI;

/** glibc's gai_strerror texts. */
const MESSAGES: Record<GaiCode, string> = {
  EAI_BADFLAGS: "Bad value for ai_flags",
  EAI_NONAME: "Name or service not known",
  EAI_AGAIN: "Temporary failure in name resolution",
  EAI_FAIL: "Non-recoverable failure in name resolution",
  EAI_NODATA: "No address associated with hostname",
  EAI_FAMILY: "ai_family not supported",
  EAI_SOCKTYPE: "ai_socktype not supported",
  EAI_SERVICE: "Servname not supported for ai_socktype",
  EAI_ADDRFAMILY: "Address family for hostname not supported",
  EAI_MEMORY: "Memory allocation failure",
  EAI_SYSTEM: "System error",
  EAI_OVERFLOW: "Result too large for supplied buffer",
};

/** gai_strerror: the text for an EAI_* code. */
export function gaiStrerror(code: GaiCode): string {
  return MESSAGES[code];
}

/** A failed name or service lookup. Catch it like an ErrnoError: `err.code === "EAI_AGAIN"`. */
export class GaiError extends Error {
  override name = "GaiError";
  /** glibc's number, e.g. -2. */
  readonly errno: number;
  constructor(
    /** The EAI_* name. */
    readonly code: GaiCode,
    /** What was looked up, e.g. "beta" (the message is "beta: Name or service not known"). */
    context?: string,
  ) {
    super(context ? `${context}: ${MESSAGES[code]}` : MESSAGES[code]);
    this.errno = EAI[code];
  }
}
