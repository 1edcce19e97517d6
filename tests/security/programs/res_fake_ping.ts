/**
 * Hostile test program: ping's own code under another name. File capabilities belong to the
 * tool's module, not to its code: this gets none, so its raw socket is refused (EPERM).
 */
export { default } from "../../../tools/ping.ts";
