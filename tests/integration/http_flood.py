#!/usr/bin/env python3
"""Hostile HTTP clients for it_api_security: many parked requests, slow headers.

Each subcommand prints one JSON line of what it saw, for the shell test to assert on:

  parked ADDR N PATH HOLD [HEADER...]  open N connections, send "GET PATH" on each, count the
                                   ones answered within a second by status, hold the rest HOLD
                                   seconds more, then close them all
  slowloris ADDR N SECONDS SRC [CAFILE]  N connections from source address SRC (TLS with
                                   CAFILE), each sending one header byte a second; report how
                                   many the server closed and after how long
  bodies ADDR N PATH SIZE [HEADER...]  N requests to PATH with SIZE-byte bodies; statuses

ADDR is unix:PATH or HOST:PORT (plain TCP: the test's zerod runs with --insecure-tcp for
these, TLS itself is tested with curl).
"""
import json
import socket
import ssl
import sys
import time


def connect(addr, src=None):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if src:
            s.bind((src, 0))
        s.connect((host, int(port)))
    return s


def request(path, headers, body=b"", method="GET"):
    lines = [f"{method} {path} HTTP/1.1", "Host: zero"] + headers
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def status_of(data):
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def parked(addr, n, path, hold, *headers):
    socks, statuses = [], {}
    for _ in range(int(n)):
        try:
            s = connect(addr)
        except OSError as e:
            statuses["connect:" + e.__class__.__name__] = statuses.get("connect:" + e.__class__.__name__, 0) + 1
            continue
        s.sendall(request(path, list(headers)))
        socks.append(s)
    time.sleep(1.0)
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(4096)
            code = str(status_of(data)) if data else "closed"
        except BlockingIOError:
            code = "parked"
        except OSError:
            code = "error"
        statuses[code] = statuses.get(code, 0) + 1
    print(json.dumps(statuses), flush=True)
    time.sleep(float(hold))
    for s in socks:
        s.close()


def slowloris(addr, n, seconds, src, cafile=None):
    socks, opened_at, closed_after, refused = [], [], [], 0
    ctx = None
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
    for _ in range(int(n)):
        try:
            s = connect(addr, src)
            if ctx:
                s.settimeout(5)
                s = ctx.wrap_socket(s)
        except OSError:
            refused += 1
            continue
        s.setblocking(False)
        socks.append(s)
        opened_at.append(time.monotonic())
    line = b"GET /v1/node HTTP/1.1\r\nX-Slow: " + b"a" * 10000
    pos = 0
    alive = set(range(len(socks)))
    end = time.monotonic() + float(seconds)
    while alive and time.monotonic() < end:
        for i in list(alive):
            try:
                data = socks[i].recv(4096)
                if not data:
                    raise ConnectionResetError
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except OSError:
                closed_after.append(time.monotonic() - opened_at[i])
                alive.discard(i)
                continue
            try:
                socks[i].send(line[pos:pos + 1])
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except OSError:
                closed_after.append(time.monotonic() - opened_at[i])
                alive.discard(i)
        pos = (pos + 1) % len(line)
        time.sleep(1.0)
    for s in socks:
        s.close()
    print(json.dumps({"opened": len(socks), "refused": refused, "closed": len(closed_after),
                      "still_open": len(alive),
                      "max_closed_after_s": round(max(closed_after), 2) if closed_after else None}))


def bodies(addr, n, path, size, *headers):
    statuses = {}
    body = b"{" + b" " * (int(size) - 2) + b"}"
    socks = []
    for _ in range(int(n)):
        s = connect(addr)
        s.settimeout(5)
        try:
            # The server may answer from the headers and stop reading: what it said is still there.
            s.sendall(request(path, list(headers), body))
        except OSError:
            pass
        socks.append(s)
    time.sleep(1.0)
    for s in socks:
        try:
            code = str(status_of(s.recv(4096)))
        except OSError:
            code = "error"
        statuses[code] = statuses.get(code, 0) + 1
        s.close()
    print(json.dumps(statuses))


if __name__ == "__main__":
    {"parked": parked, "slowloris": slowloris, "bodies": bodies}[sys.argv[1]](*sys.argv[2:])
