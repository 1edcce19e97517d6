/**
 * Test program: floods the kernel with N malformed messages (random bytes, CBOR that is no
 * envelope, envelopes with junk bodies) and checks that every request still gets an errno
 * reply and that a normal call works afterwards. Prints "replies R/N errnos E ok".
 */
import { ErrnoError, getinfo, print, syscall, syscallRaw } from "../../libc/mod.ts";
import { encodeMessage } from "../../kernel/bus/codec.ts";

function junk(rnd: () => number, depth = 0): unknown {
  switch (Math.floor(rnd() * 9)) {
    case 0:
      return Math.floor(rnd() * 2 ** 40) - 2 ** 39;
    case 1:
      return "x".repeat(Math.floor(rnd() * 50));
    case 2:
      return new Uint8Array(Math.floor(rnd() * 64));
    case 3:
      return null;
    case 4:
      return rnd() < 0.5;
    case 5:
      return depth > 2 ? 1.5 : [junk(rnd, depth + 1), junk(rnd, depth + 1)];
    case 6:
      return -0.5;
    default: {
      if (depth > 2) return {};
      const ops = [
        "socket",
        "bind",
        "connect",
        "sendmsg",
        "recvmsg",
        "close",
        "poll",
        "dup2",
        "nope",
      ];
      return {
        op: ops[Math.floor(rnd() * ops.length)],
        fd: junk(rnd, depth + 1),
        addr: junk(rnd, depth + 1),
        data: junk(rnd, depth + 1),
        len: junk(rnd, depth + 1),
        fds: junk(rnd, depth + 1),
        domain: junk(rnd, depth + 1),
      };
    }
  }
}

export default async function main([count]: string[]): Promise<number> {
  const n = Number(count ?? 10000);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  let replies = 0;
  let errnos = 0;
  const calls: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    if (kind === 0) {
      const bytes = new Uint8Array(1 + Math.floor(rnd() * 40));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rnd() * 256);
      syscallRaw(bytes);
    } else if (kind === 1) {
      syscallRaw(new Uint8Array(encodeMessage(junk(rnd))));
    } else {
      calls.push(
        syscall(junk(rnd) as Record<string, unknown>).then(
          () => void replies++,
          (e) => {
            replies++;
            if (e instanceof ErrnoError) errnos++;
          },
        ),
      );
    }
    if (calls.length >= 200) await Promise.all(calls.splice(0));
  }
  await Promise.all(calls);
  const me = await getinfo();
  print(`replies ${replies}/${Math.floor((n + 0) / 3)} errnos ${errnos} pid ${me.pid} ok`);
  return 0;
}
