/** For the attack suite's programs: one step of an attack, reported as a line. */
import { ErrnoError, print } from "../../../libc/mod.ts";

/**
 * Run `step` and print "WHAT OK", or "WHAT ECODE" when it fails with an errno (anything else
 * is thrown on). Resolves to whether the step worked.
 */
export async function attempt(what: string, step: () => Promise<unknown>): Promise<boolean> {
  try {
    await step();
    print(`${what} OK`);
    return true;
  } catch (err) {
    if (!(err instanceof ErrnoError)) throw err;
    print(`${what} ${err.code}`);
    return false;
  }
}
