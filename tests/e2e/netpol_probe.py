# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The NetworkPolicy conformance model's traffic, Python 3 stdlib only.

  serve NAME READY
      In a pod's namespace: echo servers on TCP and UDP ports 80 and 81
      (upstream's serve-80-tcp, serve-81-tcp, serve-80-udp, serve-81-udp).
      Every line (TCP) or datagram (UDP) is answered "NAME:SOURCE:DATA", so a
      client sees whom it reached and from which address; a TCP connection
      stays open for as many lines as the client sends.

  matrix PROTO PORT TIMEOUT SOURCES DESTS RULES [RETRY]
      Probes every source to every destination at once, one thread per
      probe, each a new connection (TCP connect + one echoed line, or one
      UDP datagram and its reply) with TIMEOUT seconds to be answered.
      SOURCES is "LABEL=NETNS-PATH[=ADDRESS],...": a thread enters the
      namespace with setns(2), as nsenter --net does, and the server must
      see ADDRESS as the source when one is given (except when a source
      reaches itself through a Service: hairpin is translated by design).
      DESTS is "LABEL=IP[=SERVER],...", SERVER the name that must answer
      (LABEL by default). RULES is a newline-separated list of
      "FROM TO 0|1" with shell globs over the labels, applied in order over
      an all-1 matrix: the last rule matching a pair decides. A source
      probing its own label is expected to pass whatever the rules say (a
      pod cannot block itself). Exit 0 when observed == expected; otherwise
      the cells that differ are probed RETRY more times (default 1: a
      loaded machine may lose a positive; said on stdout when it helped),
      and when they still differ the expected and observed matrices and
      their difference are printed upstream-style and the exit status is 1.

  hold NETNS-PATH DST PORT DIR
      Opens one TCP connection and exchanges a line on it, writes DIR/held;
      then, each time a file DIR/ask-N appears, sends another line on the
      same connection and writes DIR/reply-N ("ok" or the error). Ends when
      DIR/stop appears.
"""
import ctypes
import fnmatch
import os
import socket
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
PORTS = (80, 81)


def serve(name, ready):
    def reply(src, data):
        return ("%s:%s:" % (name, src)).encode() + data

    def conn(c, a):
        buf = b""
        try:
            c.settimeout(120)
            while True:
                b = c.recv(4096)
                if not b:
                    break
                buf += b
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    c.sendall(reply(a[0], line) + b"\n")
        except OSError:
            pass
        finally:
            c.close()

    def tcp(s):
        while True:
            c, a = s.accept()
            threading.Thread(target=conn, args=(c, a), daemon=True).start()

    def udp(s):
        while True:
            data, a = s.recvfrom(65535)
            s.sendto(reply(a[0], data), a)

    for port in PORTS:
        t = socket.create_server(("0.0.0.0", port), backlog=256)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", port))
        threading.Thread(target=tcp, args=(t,), daemon=True).start()
        threading.Thread(target=udp, args=(u,), daemon=True).start()
    open(ready, "w").close()
    threading.Event().wait()


_libc = ctypes.CDLL(None, use_errno=True)


def enter(path):
    """Move the calling thread (only) into the network namespace PATH."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def probe_tcp(dst, port, token, tmo):
    deadline = time.monotonic() + tmo
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(tmo)
        s.connect((dst, port))
        s.sendall(token + b"\n")
        buf = b""
        while b"\n" not in buf:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            b = s.recv(4096)
            if not b:
                raise ConnectionError("closed before the echo")
            buf += b
        return buf.split(b"\n", 1)[0]
    finally:
        s.close()


def probe_udp(dst, port, token, tmo):
    deadline = time.monotonic() + tmo
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # A resend every 0.25 s on the same socket is the same flow; a
        # denied flow stays denied, a lost datagram gets another chance.
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no UDP reply")
            s.sendto(token, (dst, port))
            s.settimeout(min(0.25, left))
            try:
                data, _ = s.recvfrom(65535)
                return data
            except socket.timeout:
                pass
    finally:
        s.close()


def verdict(proto, src_ns, want_src, dst, port, want_name, tmo, label):
    """1 when WANT_NAME answered and saw WANT_SRC (if any) as the source,
    else a letter saying why not."""
    token = ("tk-%d-%d" % (os.getpid(), threading.get_ident())).encode()
    try:
        enter(src_ns)
        fn = probe_tcp if proto == "tcp" else probe_udp
        got = fn(dst, port, token, tmo)
    except socket.timeout:
        return "T"  # dropped: what a denied probe looks like
    except ConnectionRefusedError:
        return "R"
    except OSError as e:
        return "E:%s" % e
    text = got.decode(errors="replace")
    name, _, rest = text.partition(":")
    src, _, data = rest.partition(":")
    if name != want_name or data != token.decode():
        return "W:%s" % text  # another server answered
    if want_src and src != want_src and name != label:
        return "S:%s" % text  # the source address was rewritten
    return "1"


def run_probes(proto, port, tmo, cells):
    """cells: {(i, j): (src_ns, src_ip, dst_ip, want_name, src_label)} ->
    verdicts"""
    out = {}

    def one(key, a):
        out[key] = verdict(proto, a[0], a[1], a[2], port, a[3], tmo, a[4])

    threads = [threading.Thread(target=one, args=(k, v)) for k, v in cells.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def parse_list(arg):
    return [part.split("=") for part in arg.split(",") if part]


def expected(srcs, dsts, rules):
    want = {}
    for i, (s, *_) in enumerate(srcs):
        for j, (d, *_) in enumerate(dsts):
            v = 1
            for f, t, val in rules:
                if fnmatch.fnmatchcase(s, f) and fnmatch.fnmatchcase(d, t):
                    v = int(val)
            if s == d:
                v = 1  # a pod reaching its own address never leaves it
            want[i, j] = v
    return want


def grid(title, srcs, dsts, cell):
    w = max(len(s[0]) for s in srcs)
    cw = max(3, max(len(d[0]) for d in dsts))
    lines = [title, " " * w + " " + "".join(d[0].rjust(cw + 1) for d in dsts)]
    for i, s in enumerate(srcs):
        lines.append(s[0].ljust(w) + " " +
                     "".join(cell(i, j).rjust(cw + 1) for j in range(len(dsts))))
    return "\n".join(lines)


def matrix(proto, port, tmo, srcs_arg, dsts_arg, rules_arg, retry="1"):
    port, tmo = int(port), float(tmo)
    srcs, dsts = parse_list(srcs_arg), parse_list(dsts_arg)
    rules = [r.split() for r in rules_arg.splitlines() if r.strip()]
    for r in rules:
        if len(r) != 3 or r[2] not in ("0", "1"):
            sys.exit("bad rule %r (want: FROM TO 0|1)" % " ".join(r))
    want = expected(srcs, dsts, rules)
    cells = {(i, j): (s[1], s[2] if len(s) > 2 else "", d[1],
                      d[2] if len(d) > 2 else d[0], s[0])
             for i, s in enumerate(srcs) for j, d in enumerate(dsts)}
    t0 = time.monotonic()
    got = run_probes(proto, port, tmo, cells)
    first = {k for k in got if (got[k] == "1") != bool(want[k])}
    bad = set(first)
    for _ in range(int(retry)):
        if not bad:
            break
        again = run_probes(proto, port, tmo, {k: cells[k] for k in bad})
        got.update(again)
        bad = {k for k in bad if (got[k] == "1") != bool(want[k])}
    ms = (time.monotonic() - t0) * 1000
    label = "%s/%d" % (proto.upper(), port)
    if first and not bad:
        print("%s: %d of %d probes differed and matched when probed again: %s"
              % (label, len(first), len(got),
                 " ".join("%s->%s" % (srcs[i][0], dsts[j][0]) for i, j in sorted(first))))
    if not bad:
        print("%s: %d probes as expected (%d allowed) in %.0f ms"
              % (label, len(got), sum(want.values()), ms))
        return 0
    print("%s: %d of %d probes differ from the expected reachability"
          % (label, len(bad), len(got)))
    print(grid("expected (1 = reachable):", srcs, dsts, lambda i, j: str(want[i, j])))
    print(grid("observed:", srcs, dsts,
               lambda i, j: "1" if got[i, j] == "1" else "0"))
    print(grid("comparison (. = as expected, X = not):", srcs, dsts,
               lambda i, j: "X" if (i, j) in bad else "."))
    for i, j in sorted(bad):
        print("  %s -> %s (%s): expected %s, observed %s" % (
            srcs[i][0], dsts[j][0], cells[i, j][2],
            "reachable" if want[i, j] else "denied",
            "reachable" if got[i, j] == "1" else {
                "T": "no answer (timed out)", "R": "refused"}.get(
                    got[i, j], got[i, j])))
    return 1


def hold(ns, dst, port, d):
    enter(ns)
    s = socket.create_connection((dst, int(port)), timeout=3)
    f = s.makefile("rwb")

    def exchange(n):
        tok = b"held-%d" % n
        f.write(tok + b"\n")
        f.flush()
        line = f.readline()
        if not line.rstrip().endswith(b":" + tok):
            raise ConnectionError("reply %r" % line)

    exchange(0)
    open(os.path.join(d, "held"), "w").close()
    n = 1
    while not os.path.exists(os.path.join(d, "stop")):
        ask = os.path.join(d, "ask-%d" % n)
        if not os.path.exists(ask):
            time.sleep(0.02)
            continue
        try:
            exchange(n)
            res = "ok"
        except OSError as e:
            res = "error: %s" % e
        with open(os.path.join(d, ".reply"), "w") as r:
            r.write(res)
        os.rename(os.path.join(d, ".reply"), os.path.join(d, "reply-%d" % n))
        n += 1
    s.close()


def main(argv):
    cmds = {"serve": serve, "matrix": matrix, "hold": hold}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    return cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
