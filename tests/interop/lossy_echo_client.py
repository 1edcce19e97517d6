"""Linux side of tests/interop/lossy_echo_test.ts: a TCP echo client that writes and reads at once.

Usage: python3 lossy_echo_client.py HOST PORT NBYTES [STALL_S]

Connects to HOST:PORT (an echo service), streams NBYTES of random data from one thread while the
main thread reads the echo back, half-closes once all is sent, reads to EOF, and prints one JSON
line: bytes sent and received, the SHA-256 of each, the seconds taken, and how this namespace's
TCP counters moved (RetransSegs: Linux resent what the cable lost on its way to Serin;
TCPOFOQueue: segments from Serin that reached Linux out of order; InCsumErrors: corrupted frames
from Serin that Linux's checksum caught). If nothing moves for STALL_S seconds (default 30) it
prints the same line with "stalled": true and where each direction stood, and exits 3.
With SERIN_TCP_CC=NAME in the environment the socket uses that congestion control (TCP_CONGESTION).
"""

import hashlib
import json
import os
import select
import socket
import sys
import threading
import time

CHUNK = 65536


def counters():
    """Tcp and TcpExt counters of this network namespace, by name."""
    out = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        with open(path) as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[0::2], lines[1::2]):
            proto, names = head.split(":", 1)
            _, values = vals.split(":", 1)
            for k, v in zip(names.split(), values.split()):
                out[f"{proto}.{k}"] = int(v)
    return out


def connect(host, port, deadline):
    """Connect, retrying while the peer is not reachable yet (e.g. Serin's DAD)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        s = socket.socket(family, socket.SOCK_STREAM)
        if os.environ.get("SERIN_TCP_CC"):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, os.environ["SERIN_TCP_CC"].encode())
        s.settimeout(10)
        try:
            s.connect((host, port))
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stall_s = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    before = counters()
    s = connect(host, port, time.monotonic() + 15)
    s.settimeout(None)
    t0 = time.monotonic()
    state = {"sent": 0, "got": 0, "error": None}
    sent_hash = hashlib.sha256()

    def send():
        try:
            while state["sent"] < n:
                part = os.urandom(min(CHUNK, n - state["sent"]))
                sent_hash.update(part)
                s.sendall(part)
                state["sent"] += len(part)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            state["error"] = f"send: {e}"

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    got_hash = hashlib.sha256()
    # The socket stays blocking (a timeout would apply to the sender's sendall too): wait for
    # input with select, so a stall is noticed while the sender is blocked on a full window.
    last, last_change = (0, 0), time.monotonic()
    stalled = False
    while True:
        try:
            ready, _, _ = select.select([s], [], [], 1.0)
            d = s.recv(CHUNK) if ready else None
        except OSError as e:
            state["error"] = f"recv: {e}"
            break
        if d == b"":
            break
        if d:
            got_hash.update(d)
            state["got"] += len(d)
        now = (state["sent"], state["got"])
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            stalled = True
            break
    secs = time.monotonic() - t0
    after = counters()
    watch = ("Tcp.RetransSegs", "Tcp.InCsumErrors", "Tcp.InErrs", "TcpExt.TCPOFOQueue",
             "TcpExt.TCPSACKReorder", "TcpExt.TCPDSACKRecv", "TcpExt.TCPTimeouts",
             "TcpExt.TCPLossProbes")
    print(json.dumps({
        "sent": state["sent"],
        "got": state["got"],
        "sentSha": sent_hash.hexdigest(),
        "gotSha": got_hash.hexdigest(),
        "seconds": round(secs, 3),
        "stalled": stalled,
        "error": state["error"],
        "linux": {k: after.get(k, 0) - before.get(k, 0) for k in watch},
    }), flush=True)
    s.close()
    sys.exit(3 if stalled else 0)


main()
