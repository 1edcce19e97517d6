/**
 * The system's total memory cap. Every host, process and driver of a Serin system is a worker of
 * one OS process, so the cap is on that process's resident set (`Deno.memoryUsage().rss`). The
 * system defends it by refusing new work with ENOMEM (spawn in the kernel, new sockets and buffers
 * in the netstack), not by dying. Each worker has its own copy of this module's state: the kernel
 * worker is told the cap at boot and passes it on to each netstack (`HostBoot.memoryCap`), which
 * calls {@link setMemoryCap} with it.
 *
 * Linux has no single knob like it (it has the OOM killer and memory cgroups, which kill); this
 * is the "refuse work, not die" rule.
 *
 * @example
 * if (overMemoryCap()) throw new ErrnoError("ENOMEM", "Cannot create socket: system memory cap");
 */

/** The most the default cap may be, in bytes (8 GiB). */
export const MAX_DEFAULT_MEMORY_CAP = 8 * 1024 ** 3;
/** The share of the machine's RAM the default cap may take. */
export const DEFAULT_MEMORY_CAP_SHARE = 0.6;
/** How long one RSS sample is reused, in ms: sampling costs a few µs, and callers are hot. */
export const RSS_SAMPLE_MS = 50;

let cap = MAX_DEFAULT_MEMORY_CAP;
let sampledAt = -Infinity;
let sampled = 0;

/**
 * The default cap: min(8 GiB, 60% of the machine's RAM). Reading the RAM needs the `sys`
 * permission (the boot code has it); without it, 8 GiB.
 */
export function defaultMemoryCap(): number {
  try {
    return Math.min(
      MAX_DEFAULT_MEMORY_CAP,
      Math.floor(Deno.systemMemoryInfo().total * DEFAULT_MEMORY_CAP_SHARE),
    );
  } catch {
    return MAX_DEFAULT_MEMORY_CAP;
  }
}

/** Set this worker's cap, in bytes (at boot). */
export function setMemoryCap(bytes: number): void {
  if (!(bytes > 0)) throw new RangeError(`memory cap must be a positive number of bytes: ${bytes}`);
  cap = bytes;
  sampledAt = -Infinity;
}

/** This worker's cap, in bytes. */
export function memoryCap(): number {
  return cap;
}

/** The OS process's resident set in bytes, sampled at most every {@link RSS_SAMPLE_MS}. */
export function systemRss(now = performance.now()): number {
  if (now - sampledAt >= RSS_SAMPLE_MS) {
    sampled = Deno.memoryUsage().rss;
    sampledAt = now;
  }
  return sampled;
}

/** Whether the whole system is over its memory cap: new work should get ENOMEM. */
export function overMemoryCap(now = performance.now()): boolean {
  return systemRss(now) > cap;
}
