/**
 * A python3 prelude for a hand-built TCP peer on one interface (AF_PACKET): it owns an IPv4
 * address nobody else has (it answers ARP for it) and builds every frame itself, so the same
 * trace can be played against Linux and against Serin. argv: iface, target MAC, target IPv4,
 * the peer's own IPv4. It defines `frame(sport, dport, seq, ack, flags, opts=b"", data=b"")`,
 * `ts(value, echo)` (a timestamp option), `send(frame)` and `collect(seconds, port)`, which
 * returns the target's segments to `port` as {seq, ack, flags, ts, len} records.
 */
export const RAW_PEER_PY = `
import json, select, socket, struct, sys, time
IF, DMAC, DST, SRC = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), sys.argv[3], sys.argv[4]
SMAC = bytes.fromhex("029900000001")
def csum(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(sport, dport, seq, ack, flags, opts=b"", data=b""):
    while len(opts) % 4: opts += b"\\1"
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, (20 + len(opts)) // 4 << 4, flags, 65535, 0, 0) + opts
    ph = socket.inet_aton(SRC) + socket.inet_aton(DST) + struct.pack("!BBH", 0, 6, len(h) + len(data))
    h = h[:16] + struct.pack("!H", csum(ph + h + data)) + h[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(h) + len(data), 1, 0x4000, 64, 6, 0, socket.inet_aton(SRC), socket.inet_aton(DST))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return DMAC + SMAC + b"\\x08\\x00" + ip + h + data
def ts(v, e): return b"\\1\\1\\x08\\x0a" + struct.pack("!II", v, e)
_s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
_s.bind((IF, 0))
def send(f): _s.send(f)
def collect(t, port):
    end, out = time.time() + t, []
    while time.time() < end:
        if not select.select([_s], [], [], max(0, end - time.time()))[0]: break
        f = _s.recv(65535)
        if f[12:14] == b"\\x08\\x06" and f[20:22] == b"\\0\\1" and f[38:42] == socket.inet_aton(SRC):
            _s.send(f[6:12] + SMAC + b"\\x08\\x06" + f[14:20] + b"\\0\\2" + SMAC + f[38:42] + f[22:28] + f[28:32])
            continue
        if f[12:14] != b"\\x08\\x00" or f[23] != 6 or f[30:34] != socket.inet_aton(SRC): continue
        t4 = f[14 + (f[14] & 15) * 4:14 + struct.unpack("!H", f[16:18])[0]]  # no Ethernet padding
        sp, dp, seq, ack, off, fl = struct.unpack("!HHIIBB", t4[:14])
        opts, i, tsv = t4[20:(off >> 4) * 4], 0, None
        while i < len(opts) and opts[i] != 0:
            if opts[i] == 1: i += 1; continue
            if opts[i] == 8: tsv = struct.unpack("!II", opts[i + 2:i + 10])
            i += max(2, opts[i + 1])
        if dp == port:
            out.append({"sport": sp, "seq": seq, "ack": ack, "flags": fl, "ts": tsv, "len": len(t4) - (off >> 4) * 4})
    return out
`;
