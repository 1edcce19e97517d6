"""Linux's echo server for the switch tests and the lossy echo bench: a TCP echo on ADDR PORT.

Usage: python3 echo_server.py ADDR PORT

Prints "listening" once it listens, then echoes every connection (one thread each) until the peer
half-closes, then closes its side. Runs until killed. With SERIN_TCP_CC=NAME in the environment
its sockets use that congestion control (TCP_CONGESTION, inherited by accepted sockets).
"""

import os
import socket
import sys
import threading


def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.shutdown(socket.SHUT_WR)


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if os.environ.get("SERIN_TCP_CC"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, os.environ["SERIN_TCP_CC"].encode())
    s.bind((addr, port))
    s.listen(8)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
