/**
 * Hostile test program: piles up memory in the kernel through calls in progress. MODE is one of:
 * - `calls N`: start N receives at once on a socketpair nobody writes to; prints
 *   "calls OK ENOBUFS MEMORY LIMIT" (calls accepted, calls refused, and the kernel memory
 *   charged while they wait), then ends them all and prints "after MEMORY".
 * - `send BYTES`: one blocking send of BYTES on a socketpair; prints "send CODE" ("ok" when it
 *   went through).
 */
import {
  AF_LOCAL,
  close,
  ErrnoError,
  getinfo,
  print,
  recv,
  send,
  SOCK_STREAM,
  socketpair,
} from "../../../libc/mod.ts";

const code = (err: unknown) => err instanceof ErrnoError ? err.code : String(err);

export default async function main([mode, n]: string[]): Promise<number> {
  const [a, b] = await socketpair(AF_LOCAL, SOCK_STREAM);
  switch (mode) {
    case "calls": {
      let refused = 0;
      const accepted: Promise<unknown>[] = [];
      const calls = Array.from({ length: Number(n) }, () => recv(a, 1));
      for (const c of calls) {
        accepted.push(c.catch((err) => {
          if (code(err) !== "ENOBUFS") throw err;
          refused++;
          return "refused";
        }));
      }
      // Replies come in order: once this answers, every refusal has arrived.
      const during = await getinfo();
      const ok = Number(n) - refused;
      print(`calls ${ok} ${refused} ${during.memory} ${during.memoryLimit}`);
      // Closing the other end ends them all (end of file); close itself is never refused.
      await close(b);
      await Promise.all(accepted);
      print(`after ${(await getinfo()).memory}`);
      return 0;
    }
    case "send": {
      const r = await send(a, new Uint8Array(Number(n))).then(() => "ok", code);
      print(`send ${r}`);
      return 0;
    }
    default:
      print("usage: res_pending calls N | send BYTES");
      return 2;
  }
}
