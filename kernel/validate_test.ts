import assert from "node:assert/strict";
import { validateSyscall } from "./validate.ts";
import { ErrnoError } from "./errno.ts";

const code = (body: unknown) => {
  try {
    validateSyscall(body);
    return "ok";
  } catch (e) {
    return (e as ErrnoError).code;
  }
};

Deno.test("unknown ops are ENOSYS, wrong types EINVAL/EFAULT, bad fds EBADF", () => {
  assert.equal(code({ op: "socket", domain: 1, type: 1, protocol: 0 }), "ok");
  assert.equal(code({ op: "reboot" }), "ENOSYS");
  assert.equal(code({ op: "__proto__" }), "ENOSYS");
  assert.equal(code(null), "EINVAL");
  assert.equal(code([1, 2]), "EINVAL");
  assert.equal(code({ op: "socket", domain: "x", type: 1, protocol: 0 }), "EINVAL");
  assert.equal(code({ op: "close", fd: -3 }), "EBADF");
  assert.equal(code({ op: "close", fd: "3" }), "EBADF");
  assert.equal(code({ op: "close" }), "EBADF");
  assert.equal(code({ op: "sendmsg", fd: 3, data: "text", flags: 0 }), "EFAULT");
  assert.equal(code({ op: "sendmsg", fd: 3, data: new Uint8Array(1), flags: 0 }), "ok");
  assert.equal(code({ op: "bind", fd: 3, addr: { family: 99 } }), "EAFNOSUPPORT");
  assert.equal(
    code({ op: "bind", fd: 3, addr: { family: 2, addr: "1.2.3.4", port: 70000 } }),
    "EINVAL",
  );
  assert.equal(code({ op: "bind", fd: 3, addr: 5 }), "EFAULT");
  assert.equal(code({ op: "poll", fds: [{ fd: 1 }], timeout: 0 }), "EFAULT");
});
