"""Socket calls for the scenario runner, run inside the Linux target's namespace.

Usage: python3 -u linux_helper.py FAMILY ENDPOINT_ADDR PEER_ADDR ENDPOINT_PORT PEER_PORT IFACE SYSCTLS

First sets the sysctls (a JSON object, names as `sysctl` spells them; unknown ones are skipped,
as with `sysctl -e`) and answers {"ready": true, "mac": IFACE's MAC}.

Reads one JSON call per line on stdin ({"id": N, "call": {"op": ...}}), runs each in a thread
of its own (a blocking call does not hold up the next), and writes one JSON result per line
({"id": N, "ret": R, "errno": "ECONNRESET", "revents": [...], "value": ...}). Script fds are
numbered as a fresh process would get them (lowest free from 3), whatever Python's own are.
"""
import errno
import fcntl
import json
import select
import socket
import struct
import sys
import threading

FAMILY, ENDPOINT, PEER = sys.argv[1], sys.argv[2], sys.argv[3]
EPORT, PPORT, IFACE, SYSCTLS = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], json.loads(sys.argv[7])
SO_LINGER = 13
_out = threading.Lock()
_fds_lock = threading.Lock()
fds = {}


def reply(obj):
    with _out:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def alloc(s):
    with _fds_lock:
        fd = 3
        while fd in fds:
            fd += 1
        fds[fd] = s
        return fd


def addr(host, port):
    return (host, port, 0, 0) if FAMILY == "ipv6" else (host, port)


def run(c):
    op = c["op"]
    if op == "socket":
        return {"ret": alloc(socket.socket(c["domain"], c["type"], c["protocol"]))}
    if op == "poll":
        p = select.poll()
        entries = []
        for e in c["fds"]:
            s = fds.get(e["fd"])
            entries.append(s)
            if s is not None:
                p.register(s.fileno(), e["events"])
        got = dict(p.poll(c["timeout"]))
        revents = [
            32 if s is None else got.get(s.fileno(), 0) for s in entries
        ]
        return {"ret": sum(1 for r in revents if r), "revents": revents}
    s = fds.get(c["fd"])
    if s is None:
        return {"ret": -1, "errno": "EBADF"}
    if op == "bind":
        s.bind(addr("::" if s.family == socket.AF_INET6 else "0.0.0.0", EPORT))
        return {"ret": 0}
    if op == "listen":
        s.listen(c["backlog"])
        return {"ret": 0}
    if op == "accept":
        conn, _ = s.accept()
        return {"ret": alloc(conn)}
    if op == "connect":
        err = s.connect_ex(addr(PEER, PPORT))
        if err:
            return {"ret": -1, "errno": errno.errorcode.get(err, str(err))}
        return {"ret": 0}
    if op == "setsockopt":
        v = c["value"]
        if isinstance(v, list):
            s.setsockopt(c["level"], c["name"], struct.pack("ii", *v))
        else:
            s.setsockopt(c["level"], c["name"], v)
        return {"ret": 0}
    if op == "getsockopt":
        if c["level"] == socket.SOL_SOCKET and c["name"] == SO_LINGER:
            return {"ret": 0, "value": list(struct.unpack("ii", s.getsockopt(c["level"], c["name"], 8)))}
        return {"ret": 0, "value": s.getsockopt(c["level"], c["name"])}
    if op == "fcntl":
        return {"ret": fcntl.fcntl(s.fileno(), c["cmd"], c["arg"])}
    if op == "send":
        data = bytes(0x41 + (i % 26) for i in range(c["len"]))
        return {"ret": s.send(data, c["flags"])}
    if op == "recv":
        return {"ret": len(s.recv(c["len"], c["flags"]))}
    if op == "shutdown":
        s.shutdown(c["how"])
        return {"ret": 0}
    if op == "close":
        with _fds_lock:
            fds.pop(c["fd"])
        s.close()
        return {"ret": 0}
    return {"ret": -1, "errno": "ENOSYS"}


def serve(req):
    try:
        r = run(req["call"])
    except OSError as e:
        r = {"ret": -1, "errno": errno.errorcode.get(e.errno, str(e.errno))}
    except Exception as e:  # a runner bug: say so rather than hang
        r = {"ret": -1, "errno": "EHELPER", "message": repr(e)}
    r["id"] = req["id"]
    reply(r)


for name, value in SYSCTLS.items():
    try:
        with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
            f.write(str(value))
    except FileNotFoundError:
        pass
with open("/sys/class/net/%s/address" % IFACE) as f:
    mac = f.read().strip()
reply({"ready": True, "mac": mac})
for line in sys.stdin:
    if line.strip():
        threading.Thread(target=serve, args=(json.loads(line),), daemon=True).start()
