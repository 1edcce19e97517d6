/** The python3 programs the TCP interop tests run on Linux's side, inside the namespace. */

/**
 * Linux TCP client, args HOST PORT N: send N random bytes, half-close, print
 * {"mine": "<N> <sha256>", "peer": "<the peer's answer>"} as JSON.
 */
export const SHA_CLIENT_PY = `
import hashlib, json, os, socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), timeout=20)
h, sent = hashlib.sha256(), 0
while sent < n:
    part = os.urandom(min(65536, n - sent))
    s.sendall(part)
    h.update(part)
    sent += len(part)
s.shutdown(socket.SHUT_WR)
answer = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    answer += d
print(json.dumps({"mine": f"{sent} {h.hexdigest()}", "peer": answer.decode().strip()}))
`;

/**
 * Linux TCP server, args ADDR PORT: print "listening", accept one connection, read it to EOF,
 * answer "<count> <sha256>", then print {"peer", "got"} as JSON.
 */
export const SHA_SERVER_PY = `
import hashlib, json, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(25)
print("listening", flush=True)
c, peer = s.accept()
c.settimeout(25)
h, total = hashlib.sha256(), 0
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
    total += len(d)
c.sendall(f"{total} {h.hexdigest()}\\n".encode())
c.close()
print(json.dumps({"peer": peer[0], "got": f"{total} {h.hexdigest()}"}), flush=True)
`;
