/** A program that reads the links with netctl and tries to change one (for link_control_test). */
import { ErrnoError } from "../../kernel/errno.ts";
import type { LinkInfo } from "../../kernel/bus/messages.ts";
import { netctl, print } from "../../libc/mod.ts";

export default async function main(args: string[]): Promise<number> {
  const links = await netctl({ op: "links" } as never) as LinkInfo[];
  const l = links.find((x) => x.name === args[0]);
  let set = "ok";
  try {
    await netctl({ op: "linkset", link: args[0], up: false } as never);
  } catch (err) {
    set = err instanceof ErrnoError ? err.code : String(err);
  }
  let frames = "ok";
  try {
    await netctl({ op: "linkframes", link: args[0] } as never);
  } catch (err) {
    frames = err instanceof ErrnoError ? err.code : String(err);
  }
  print(`${l?.name} ${l?.up ? "up" : "down"}; set: ${set}; frames: ${frames}`);
  return 0;
}
