/**
 * libc's side of shared rings against a stand-in netstack: a process holds rings for at most
 * its limit of sockets at once, and a socket's last close frees its place.
 */
import assert from "node:assert/strict";
import { localPair } from "../kernel/bus/endpoint.ts";
import { RpcPeer } from "../kernel/bus/rpc.ts";
import { ErrnoError } from "../kernel/errno.ts";
import { SOCK_STREAM } from "../kernel/abi.ts";
import { DirectNet, SHARE_AFTER } from "./direct.ts";

/** A DirectNet whose netstack grants every share and counts the buffers it was offered. */
function setup(maxShares: number) {
  const [mine, theirs] = localPair();
  const offered: unknown[] = [];
  new RpcPeer(theirs, {
    serve: (body) => {
      if ((body as { op: string }).op === "share") return null;
      throw new ErrnoError("ENOSYS", "not in this test");
    },
  });
  const net = new DirectNet(new RpcPeer(mine), (m) => offered.push(m), maxShares);
  return { net, offered };
}

Deno.test("libc takes shared rings for at most its limit of sockets; a last close frees a place", async () => {
  const { net, offered } = setup(2);
  const bulk = new Uint8Array(SHARE_AFTER);
  for (const fd of [3, 4, 5]) net.add(fd, fd * 10, SOCK_STREAM, false);
  // The first two sockets get rings (the send lands in tx); the third stays with messages.
  assert.equal(await net.get(3)!.sendShared(bulk, 0), bulk.length);
  assert.equal(await net.get(4)!.sendShared(bulk, 0), bulk.length);
  assert.equal(await net.get(5)!.sendShared(bulk, 0), undefined);
  assert.equal(offered.length, 2);
  assert.equal(net.sharing.shares, 2);
  net.forget(3);
  assert.equal(net.sharing.shares, 1);
  net.add(6, 60, SOCK_STREAM, false);
  assert.equal(await net.get(6)!.sendShared(bulk, 0), bulk.length);
  assert.equal(net.sharing.shares, 2);
});
