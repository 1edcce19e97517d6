/** Test program: tries to reach the real world; prints what each attempt threw. */
import { print } from "../../libc/mod.ts";

export default async function main(): Promise<number> {
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ["connect", () => Deno.connect({ hostname: "127.0.0.1", port: 9 })],
    ["readFile", () => Deno.readFile("/etc/hostname")],
    ["env", () => Promise.resolve().then(() => Deno.env.get("HOME"))],
    ["run", () => new Deno.Command("true").output()],
  ];
  for (const [name, f] of attempts) {
    try {
      await f();
      print(`${name}: allowed`);
    } catch (err) {
      print(`${name}: ${(err as Error).name}`);
    }
  }
  return 0;
}
