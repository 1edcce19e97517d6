/**
 * Hostile test program: a fork bomb. MODE is one of:
 * - `bomb SELF`: spawn SELF as `child` until a spawn fails; each child spawns one grandchild
 *   (so children's children count too). Prints "spawned N CODE" and then "holding", and blocks
 *   until killed.
 * - `child SELF`: spawn one `hold` grandchild (a failure is fine), then hold.
 * - `hold`: block in recv until killed.
 * SELF is this module's path as the kernel resolves it (relative to the boot's cwd).
 */
import {
  AF_LOCAL,
  ErrnoError,
  print,
  recv,
  SOCK_STREAM,
  socketpair,
  spawn,
} from "../../../libc/mod.ts";

async function hold(): Promise<number> {
  const [a] = await socketpair(AF_LOCAL, SOCK_STREAM);
  await recv(a, 1);
  return 0;
}

export default async function main([mode, self]: string[]): Promise<number> {
  switch (mode) {
    case "bomb": {
      let n = 0;
      let code = "none";
      for (; n < 100_000; n++) {
        try {
          await spawn(self, ["child", self]);
        } catch (err) {
          if (!(err instanceof ErrnoError)) throw err;
          code = err.code;
          break;
        }
      }
      print(`spawned ${n} ${code}`);
      print("holding");
      return await hold();
    }
    case "child":
      await spawn(self, ["hold"]).catch(() => {});
      return await hold();
    case "hold":
      return await hold();
    default:
      print("usage: res_forkbomb bomb|child|hold SELF");
      return 2;
  }
}
