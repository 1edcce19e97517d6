/**
 * Interop test program: `oob_client ADDR PORT` connects, sends "hello", then "!" with MSG_OOB,
 * then "world", and closes.
 */
import {
  AF_INET,
  close,
  connect,
  inet,
  MSG_OOB,
  send,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

export default async function main([addr, port]: string[]): Promise<number> {
  const fd = await socket(AF_INET, SOCK_STREAM);
  await connect(fd, inet(addr, Number(port)));
  await send(fd, "hello");
  await send(fd, "!", MSG_OOB);
  await send(fd, "world");
  await close(fd);
  return 0;
}
