#!/usr/bin/python3
"""profile.py — where a webhook's time goes, in numbers that a busy machine
does not bend: instructions per request (valgrind --tool=callgrind, per
thread) and system calls per request (strace -c), for the same signed
requests bench/bench.py sends.

usage: profile.py [whatsapp|slack|chat] [N] [--callgrind-only|--strace-only] [--keep DIR]
  N requests (default 5000) over 10 keep-alive connections, after the
  gateway is up (start-up is not counted). Prints one JSON object. With
  --keep DIR the callgrind.out.* files stay there for callgrind_annotate.
  chat: N test-channel messages at 50/s, end to end (instructions only).

Used before and after each optimization in bench/NOTES.md. REDRESS_BIN
picks the binary, as for bench.py.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def load_pool(prefix, threads):
    reqs = []
    for t in range(threads):
        data = Path(f"{prefix}.{t}").read_bytes()
        i = 0
        while i < len(data):
            nl = data.index(b"\n", i)
            n = int(data[i:nl])
            reqs.append(data[nl + 1:nl + 1 + n])
            i = nl + 1 + n
    return reqs


def send_all(port, reqs, conns=10):
    """Send every request once over conns keep-alive sockets; returns status counts."""
    statuses = {}
    lock = threading.Lock()

    def worker(chunk):
        s = socket.create_connection(("127.0.0.1", port))
        buf = b""
        for r in chunk:
            s.sendall(r)
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = buf[:end].decode("latin-1")
                    m = re.search(r"(?i)content-length:\s*(\d+)", head)
                    n = int(m.group(1)) if m else 0
                    if len(buf) >= end + 4 + n:
                        status = int(head.split(" ", 2)[1])
                        buf = buf[end + 4 + n:]
                        with lock:
                            statuses[status] = statuses.get(status, 0) + 1
                        break
                d = s.recv(65536)
                if not d:
                    raise RuntimeError("connection closed")
                buf += d
        s.close()

    ths = [threading.Thread(target=worker, args=(reqs[i::conns],)) for i in range(conns)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    return statuses


def start_gateway(root, rd, wrapper=None, timeout=90):
    gw = bench.Gateway(root, rd.url)
    cmd = [bench.REDRESS_BIN, "--config", str(gw.dir / "config.ini"), "serve"]
    gw.log = open(gw.dir / "gateway.log", "ab")
    gw.proc = subprocess.Popen((wrapper or []) + cmd, env=gw.env, stdout=gw.log, stderr=subprocess.STDOUT,
                               cwd=gw.dir, preexec_fn=bench.raise_nofile)
    import urllib.request
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(gw.url + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return gw
        except OSError:
            pass
        if gw.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gateway did not start: " + (gw.dir / "gateway.log").read_text()[-2000:])
        time.sleep(0.2)


def callgrind(kind, n, root, keep):
    rd = bench.Redis(root)
    outdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="cg-", dir=root))
    outdir.mkdir(parents=True, exist_ok=True)
    # instrumentation off until the load starts, off again before shutdown: the
    # totals written at exit are the requests' alone
    wrapper = ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--instr-atstart=no",
               f"--callgrind-out-file={outdir}/callgrind.out.%p"]
    gw = start_gateway(root, rd, wrapper)
    try:
        path = "/webhooks/whatsapp" if kind == "whatsapp" else "/webhooks/slack/events"
        prefix, _, _ = bench.make_pool(kind, root, f"cg{int(time.time()) % 100000}", n / bench.POOL_RATE_CAP * 2, path)
        reqs = load_pool(prefix, bench.WRK_THREADS)[:n]
        send_all(gw.port, reqs[:200])  # warm up (first-use allocations, script load)
        ctl = subprocess.run(["callgrind_control", "-i", "on", str(gw.proc.pid)], capture_output=True, text=True)
        if ctl.returncode:
            raise RuntimeError(f"callgrind_control: {ctl.stdout}{ctl.stderr}")
        st = send_all(gw.port, reqs[200:])
        time.sleep(1.0)  # the store thread's last replies
        subprocess.run(["callgrind_control", "-i", "off", str(gw.proc.pid)], capture_output=True)
    finally:
        gw.stop()
        rd.stop()
    counted = n - 200
    per_thread = {}
    for f in sorted(outdir.glob("callgrind.out.*")):
        m = re.search(r"-(\d+)$", f.name)
        text = f.read_text(errors="replace")
        tot = re.search(r"^totals: (\d+)", text, re.M)
        if tot and int(tot.group(1)):
            tid = m.group(1) if m else "?"
            per_thread[tid] = per_thread.get(tid, 0) + int(tot.group(1))
    threads = {k: round(v / counted) for k, v in sorted(per_thread.items(), key=lambda kv: -kv[1])}
    return {"requests": counted, "statuses": st, "instructions_per_request_by_thread": threads,
            "instructions_per_request": round(sum(per_thread.values()) / counted),
            "callgrind_files": str(outdir) if keep else None}


def callgrind_chat(n, root, keep):
    """Instructions per test-channel message, end to end (every thread: the
    agent turn, the outbox sender and the bus too), N messages at 50/s."""
    rd = bench.Redis(root)
    outdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="cg-", dir=root))
    outdir.mkdir(parents=True, exist_ok=True)
    wrapper = ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--instr-atstart=no",
               f"--callgrind-out-file={outdir}/callgrind.out.%p"]
    gw0 = bench.Gateway(root, rd.url)
    imp = gw0.run_cli("orders", "import", str(bench.REPO / "demo" / "orders.jsonl"))
    if imp.returncode:
        raise RuntimeError(imp.stderr)
    gw = start_gateway(root, rd, wrapper)
    try:
        subprocess.run(bench.chat_cmd(gw.url, "rate", 20, 2, "warm"), capture_output=True, cwd=bench.PEERS)
        subprocess.run(["callgrind_control", "-i", "on", str(gw.proc.pid)], capture_output=True)
        out = subprocess.run(bench.chat_cmd(gw.url, "rate", 50, n / 50, "cg"), capture_output=True, text=True,
                             cwd=bench.PEERS)
        time.sleep(1.0)
        subprocess.run(["callgrind_control", "-i", "off", str(gw.proc.pid)], capture_output=True)
    finally:
        gw.stop()
        gw0.stop()
        rd.stop()
    j = json.loads(out.stdout.strip().splitlines()[-1])
    per_thread = {}
    for f in sorted(outdir.glob("callgrind.out.*")):
        m = re.search(r"-(\d+)$", f.name)
        tot = re.search(r"^totals: (\d+)", f.read_text(errors="replace"), re.M)
        if tot and int(tot.group(1)):
            per_thread[m.group(1) if m else "?"] = int(tot.group(1))
    return {"messages": j["sent"], "ok": j["ok"],
            "instructions_per_message_by_thread": {k: round(v / j["sent"]) for k, v in
                                                   sorted(per_thread.items(), key=lambda kv: -kv[1])},
            "instructions_per_message": round(sum(per_thread.values()) / j["sent"])}


def strace(kind, n, root):
    rd = bench.Redis(root)
    gw = start_gateway(root, rd)
    try:
        path = "/webhooks/whatsapp" if kind == "whatsapp" else "/webhooks/slack/events"
        prefix, _, _ = bench.make_pool(kind, root, f"st{int(time.time()) % 100000}", n / bench.POOL_RATE_CAP * 2, path)
        reqs = load_pool(prefix, bench.WRK_THREADS)[:n]
        send_all(gw.port, reqs[:200])
        out_main, out_all = Path(root) / "strace.main", Path(root) / "strace.all"
        # the service thread alone, then every thread
        res = {}
        for label, args, part in (("service_thread", ["-p", str(gw.proc.pid)], reqs[200:200 + (n - 200) // 2]),
                                  ("all_threads", ["-f", "-p", str(gw.proc.pid)], reqs[200 + (n - 200) // 2:])):
            out = out_main if label == "service_thread" else out_all
            p = subprocess.Popen(["strace", "-c", "-o", str(out), *args], stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            send_all(gw.port, part)
            time.sleep(0.5)
            p.send_signal(2)
            p.wait(10)
            calls = {}
            for line in out.read_text().splitlines():
                f = line.split()
                if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
                    calls[f[-1]] = int(f[3])
            res[label] = {"per_request": round(sum(calls.values()) / len(part), 2),
                          "by_call": {k: round(v / len(part), 2) for k, v in
                                      sorted(calls.items(), key=lambda kv: -kv[1]) if v / len(part) >= 0.01}}
        return res
    finally:
        gw.stop()
        rd.stop()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    kind = args[0] if args else "whatsapp"
    n = int(args[1]) if len(args) > 1 else 5000
    keep = None
    if "--keep" in sys.argv:
        keep = sys.argv[sys.argv.index("--keep") + 1]
        args = [a for a in args if a != keep]
    root = tempfile.mkdtemp(prefix="redress-profile-")
    out = {"kind": kind, "binary": bench.REDRESS_BIN}
    try:
        if kind == "chat":
            out["callgrind"] = callgrind_chat(n, root, keep)
            print(json.dumps(out, indent=1))
            return
        if "--strace-only" not in sys.argv:
            out["callgrind"] = callgrind(kind, n, root, keep)
        if "--callgrind-only" not in sys.argv:
            out["strace"] = strace(kind, n, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
