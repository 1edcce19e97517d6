/**
 * What the TAP tests share: whether this machine can run them (root, /dev/net/tun, iproute2;
 * otherwise they are reported as SKIPPED, loudly) and a command runner.
 */

/** The message a test that cannot run here carries. */
export const SKIP_MESSAGE = "SKIPPED: needs root and /dev/net/tun";

function canRun(): boolean {
  try {
    if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
    Deno.statSync("/dev/net/tun");
    return new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** True when TAP tests can run on this machine. */
export const CAN_RUN = canRun();

/** Say loudly, once per test file, that its tests are skipped here; returns the name suffix. */
export function skipNotice(file: string): string {
  if (CAN_RUN) return "";
  console.error(`\n*** ${file} ${SKIP_MESSAGE} ***\n`);
  return ` (${SKIP_MESSAGE})`;
}

/** Run a command; throws with its stderr unless `allowFail`. Returns stdout. */
export async function sh(args: string[], allowFail = false): Promise<string> {
  const out = await new Deno.Command(args[0], { args: args.slice(1), stdin: "null" }).output();
  const text = new TextDecoder();
  if (!out.success && !allowFail) {
    throw new Error(`${args.join(" ")} failed: ${text.decode(out.stderr).trim()}`);
  }
  return text.decode(out.stdout);
}
