#!/usr/bin/env python3
"""Real traffic for connwatch's live-capture tests (crates/sensor/tests/live.rs).

Runs inside the test's network namespaces, on the kernel's own TCP/UDP/ICMP
stacks:

  traffic.py server ADDR          TCP 8080: reads a request "<reply size>\\n"
                                  plus payload until EOF, answers <reply size>
                                  bytes, closes. TCP 8081: reads and discards
                                  until EOF (long connections). UDP 7777:
                                  echoes each datagram. Prints "ready".
  traffic.py client ADDR          the scenario below; prints one JSON line per
                                  flow (what was sent and received), "waiting"
                                  while the last connection is held open, and
                                  exits when its stdin closes.
  traffic.py churn ADDR N SECS    N short TCP request/response connections
                                  spread over SECS seconds; prints one JSON
                                  line per connection.
"""
import json
import os
import socket
import struct
import sys
import threading
import time


def serve_reply(conn):
    with conn:
        data = b""
        while b"\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        reply = int(data.split(b"\n", 1)[0])
        while conn.recv(65536):
            pass
        conn.sendall(b"r" * reply)


def serve_sink(conn):
    with conn:
        while conn.recv(65536):
            pass


def listen(addr, port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(512)

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def server(addr):
    listen(addr, 8080, serve_reply)
    listen(addr, 8081, serve_sink)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, 7777))

    def echo():
        while True:
            d, peer = u.recvfrom(65536)
            u.sendto(d, peer)

    threading.Thread(target=echo, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()  # until the test closes our stdin


def emit(**kw):
    print(json.dumps(kw), flush=True)


def request(addr, sent, reply):
    """One TCP connection: sends `sent` payload bytes (the request line
    included), half-closes, reads the reply until EOF."""
    c = socket.create_connection((addr, 8080))
    sport = c.getsockname()[1]
    line = b"%d\n" % reply
    assert sent >= len(line)
    c.sendall(line + b"q" * (sent - len(line)))
    c.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += len(d)
    c.close()
    return sport, got


def icmp_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(addr, count, size):
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    r.settimeout(2)
    ident = os.getpid() & 0xFFFF
    replies = 0
    for seq in range(count):
        body = b"p" * size
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, icmp_checksum(hdr + body), ident, seq) + body
        r.sendto(pkt, (addr, 0))
        while True:
            d, _ = r.recvfrom(65536)
            ihl = (d[0] & 0xF) * 4
            t, _, _, i, s = struct.unpack("!BBHHH", d[ihl:ihl + 8])
            if t == 0 and i == ident and s == seq:
                replies += 1
                break
        time.sleep(0.05)
    return replies


def client(addr):
    # TCP request/response connections of known sizes.
    for sent, reply in [(1000, 20000), (50000, 100), (10, 3000), (200000, 1)]:
        sport, got = request(addr, sent, reply)
        assert got == reply, (got, reply)
        emit(kind="tcp", sport=sport, dport=8080, sent=sent, received=got)
    # UDP: three datagrams and their echoes on one socket.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    u.connect((addr, 7777))
    for _ in range(3):
        u.send(b"u" * 100)
        assert len(u.recv(65536)) == 100
    emit(kind="udp", sport=u.getsockname()[1], dport=7777, sent=300, received=300, pkts=3)
    u.close()
    # ICMP echo.
    n = ping(addr, 2, 56)
    emit(kind="icmp", sent=2, received=n)
    # A long connection that ends: 10 bytes every 0.5 s for 3.5 s.
    c = socket.create_connection((addr, 8081))
    sport = c.getsockname()[1]
    for _ in range(7):
        c.sendall(b"l" * 10)
        time.sleep(0.5)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    emit(kind="long", sport=sport, dport=8081, sent=70, received=0, open=False)
    # A long connection still open when the sensor stops: 10 bytes, then
    # silence (its thresholds fire on the wall clock alone).
    h = socket.create_connection((addr, 8081))
    sport = h.getsockname()[1]
    h.sendall(b"h" * 10)
    time.sleep(3.6)
    emit(kind="long", sport=sport, dport=8081, sent=10, received=0, open=True)
    print("waiting", flush=True)
    sys.stdin.read()
    h.close()


def churn(addr, n, secs):
    gap = secs / n
    for i in range(n):
        sport, got = request(addr, 100 + i % 7, 50)
        emit(kind="tcp", sport=sport, dport=8080, sent=100 + i % 7, received=got)
        time.sleep(gap)


if __name__ == "__main__":
    mode, addr = sys.argv[1], sys.argv[2]
    if mode == "server":
        server(addr)
    elif mode == "client":
        client(addr)
    elif mode == "churn":
        churn(addr, int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit("unknown mode " + mode)
