/** Test program: prints its pid and arguments, exits with the status given as first argument. */
import { getinfo, print } from "../../libc/mod.ts";

export default async function main(args: string[]): Promise<number> {
  const me = await getinfo();
  print(`hello from pid ${me.pid} on ${me.host}: ${args.join(" ")}`);
  console.error("to stderr");
  return Number(args[0] ?? 0);
}
