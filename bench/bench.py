#!/usr/bin/python3
"""bench.py — redress against what a team would use instead (bench/README.md).

Started by bench/run.sh (`make bench`), which installs the tools first.
Every server runs on this machine, on loopback, with the load generator in
another process: wrk for signed webhooks, Node clients for the test channel
and for WebSocket sessions. Each scenario runs --runs times, alternating
redress and its peer inside a run; figures are medians over the runs and a
ratio is the median of the per-run ratios (both systems measured in the same
run, one right after the other). Results go to bench/out/results.json (one
entry per scenario, so `--only` reruns one and keeps the others) and
bench/RESULTS.md is written from it, with bench/NOTES.md (what each
optimization bought, what stands in the way of a missed target) appended.

usage: bench.py [--only a,b] [--runs N] [--duration S] [--list]
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS = HERE / "peers"
OUT = HERE / "out"
RESULTS_JSON = OUT / "results.json"
RESULTS_MD = HERE / "RESULTS.md"
NOTES_MD = HERE / "NOTES.md"

REDRESS_BIN = os.environ.get("REDRESS_BIN") or str(REPO / "build" / "redress")
WA_SECRET = "bench-whatsapp-app-secret"
SLACK_SECRET = "bench-slack-signing-secret"
API_KEY = "bench-test-key"
WRK_THREADS, WRK_CONNS = 2, 50
POOL_RATE_CAP = 75000      # requests/s a pool is sized for; a faster run is flagged "exhausted"
NOFILE = 32768             # for 10,000 sockets on either side
CLK = os.sysconf("SC_CLK_TCK")

SCENARIOS = ["whatsapp", "slack", "chat", "conversation", "webchat"]


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---- /proc sampling ----

def cpu_ticks(pid):
    """utime + stime of every thread of pid, in clock ticks."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except (OSError, IndexError):
        return 0


def thread_ticks(pid):
    """CPU ticks of a gateway's threads by role: the service loop (the main
    thread), the store thread (named rd-store) and the rest (agent workers,
    outbox senders, the bus subscriber)."""
    out = {"service": 0, "store": 0, "agents": 0}
    try:
        for t in Path(f"/proc/{pid}/task").iterdir():
            try:
                f = (t / "stat").read_text().rsplit(")", 1)[1].split()
                comm = (t / "comm").read_text().strip()
            except OSError:
                continue
            role = "service" if t.name == str(pid) else "store" if comm == "rd-store" else "agents"
            out[role] += int(f[11]) + int(f[12])
    except OSError:
        pass
    return out


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    """Peak RSS and CPU time of some pids over a window (100 ms samples)."""

    def __init__(self, pids):
        self.pids = dict(pids)  # name -> pid
        self.peak = {n: 0 for n in self.pids}
        self.stop_ev = threading.Event()

    def __enter__(self):
        self.t0 = time.monotonic()
        self.cpu0 = {n: cpu_ticks(p) for n, p in self.pids.items()}
        self.threads0 = thread_ticks(self.pids["gw"]) if "gw" in self.pids else None
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()
        return self

    def _run(self):
        while not self.stop_ev.is_set():
            for n, p in self.pids.items():
                self.peak[n] = max(self.peak[n], rss_kib(p))
            self.stop_ev.wait(0.1)

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.th.join()
        dt = time.monotonic() - self.t0
        self.cpu = {n: 100.0 * (cpu_ticks(p) - self.cpu0[n]) / CLK / dt for n, p in self.pids.items()}
        self.threads = None
        if self.threads0 is not None:
            t1 = thread_ticks(self.pids["gw"])
            self.threads = {k: 100.0 * (t1[k] - self.threads0[k]) / CLK / dt for k in t1}
        return False


# ---- processes ----

class Redis:
    """redis-server with the durability `make run` uses (scripts/run-local.sh):
    appendonly yes, appendfsync everysec (Redis' default), RDB save points
    at their defaults. BENCH_FSYNC=always gives fsync on every write."""

    def __init__(self, root):
        self.dir = Path(tempfile.mkdtemp(prefix="redis-", dir=root))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.fsync = os.environ.get("BENCH_FSYNC", "everysec")
        self.cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                    "--appendonly", "yes", "--appendfsync", self.fsync, "--logfile", str(self.dir / "redis.log"),
                    # records (changes nothing else) every event that held Redis up 5 ms or more:
                    # LATENCY LATEST after a run says which (fork, aof-write, command, ...)
                    "--latency-monitor-threshold", "5"]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     preexec_fn=raise_nofile)
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server did not start: {self.dir}/redis.log")
            time.sleep(0.05)

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return r.stdout.strip()

    def commandstats(self):
        out = {}
        for line in self.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line[8:].split(":", 1)
                kv = dict(x.split("=") for x in rest.split(","))
                out[name] = int(kv["calls"])
        return out

    def stalls(self):
        """LATENCY LATEST (latency-monitor-threshold 5): {event: [samples, worst ms]} of what
        held Redis up 5 ms or more (fork, aof-write, aof-fsync-always, command, ...)."""
        out = {}
        for line in self.cli("--json", "LATENCY", "LATEST").splitlines()[:1]:
            try:
                for ev in json.loads(line):  # [name, last time, last ms, worst ms]
                    h = self.cli("LATENCY", "HISTORY", ev[0]).split()
                    out[ev[0]] = [len(h) // 2, int(ev[3])]
            except (ValueError, IndexError, TypeError):
                pass
        return out

    def persistence(self):
        """INFO persistence and INFO stats (latest_fork_usec) as one dict of strings."""
        return dict(line.split(":", 1) for sec in ("persistence", "stats")
                    for line in self.cli("INFO", sec).splitlines()
                    if ":" in line and not line.startswith("#"))

    def stop(self):
        if self.proc.poll() is None:
            self.cli("SHUTDOWN", "NOSAVE")  # no RDB dump of a throwaway dataset
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def stats_delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) - before.get(k, 0) > 0}


class Gateway:
    """`redress serve` with a bench config: every channel on, the platforms'
    APIs pointed at a closed loopback port (outbound sends fail fast and are
    retried from the outbox, as when a platform is down)."""

    def __init__(self, root, redis_url, workers=2):
        self.dir = Path(tempfile.mkdtemp(prefix="gw-", dir=root))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        dead = f"http://127.0.0.1:{free_port()}"
        cfg = {
            "gateway": {"listen": f"127.0.0.1:{self.port}", "workers": workers, "log_level": "error"},
            "redis": {"url": redis_url},
            "test_channel": {"enabled": "true"},
            "templates": {"dir": str(REPO / "templates")},
            "webchat": {"assets_dir": str(REPO / "channels" / "webchat")},
            # all the load comes from 127.0.0.1, standing for many customers' addresses: the
            # per-address limit of the web chat and the test channel is off (the per-customer
            # limit stays at its default; webhooks were never limited by address)
            "limits": {"ip_requests_per_minute": 0},
            "site": {"public_url": self.url},
            "whatsapp": {"enabled": "true", "phone_number_id": "106540352242922",
                         "graph_api_base": dead + "/v21.0"},
            "slack": {"enabled": "true", "api_base": dead + "/api"},
            # the conversation scenario refunds hundreds of orders a run
            "mandate": {"daily_cap": "USD 100000000.00, EUR 100000000.00, BRL 100000000.00, USDC 100000000.00"},
        }
        text = ""
        for sec, kv in cfg.items():
            text += f"[{sec}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items())
        (self.dir / "config.ini").write_text(text)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
        self.env.update(REDRESS_WHATSAPP_APP_SECRET=WA_SECRET, REDRESS_WHATSAPP_ACCESS_TOKEN="bench-token",
                        REDRESS_WHATSAPP_VERIFY_TOKEN="bench-verify", REDRESS_SLACK_SIGNING_SECRET=SLACK_SECRET,
                        REDRESS_SLACK_BOT_TOKEN="xoxb-bench", REDRESS_TEST_CHANNEL_API_KEY=API_KEY)
        self.proc = None

    def reply_latency(self):
        """The gateway's own histogram (GET /metrics, redress_reply_latency_seconds: message
        stored → reply delivered by the sender): {bucket upper bound in ms: count}, "+Inf"."""
        out = {}
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("redress_reply_latency_seconds_bucket{le=\""):
                    le = line.split('"')[1]
                    out[le if le == "+Inf" else round(float(le) * 1000)] = int(line.split()[-1])
        return out

    def run_cli(self, *args):
        return subprocess.run([REDRESS_BIN, "--config", str(self.dir / "config.ini"), *args], env=self.env,
                              capture_output=True, text=True, cwd=self.dir)

    def start(self):
        self.log = open(self.dir / "gateway.log", "ab")
        self.proc = subprocess.Popen([REDRESS_BIN, "--config", str(self.dir / "config.ini"), "serve"],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir,
                                     preexec_fn=raise_nofile)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {(self.dir / 'gateway.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=0.5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gateway not ready after 15 s")
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Node:
    """A peer: node bench/peers/SCRIPT PORT, ready when it prints 'listening'."""

    def __init__(self, script, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(["node", str(PEERS / script), str(self.port)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=e, cwd=PEERS, text=True,
                                     preexec_fn=raise_nofile)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            raise RuntimeError(f"{script} did not start: {line}{self.proc.stdout.read()[-2000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def settle(seconds=1.0):
    time.sleep(seconds)


# ---- webhooks (wrk) ----

def make_pool(kind, root, tag, duration, path):
    per_thread = int(POOL_RATE_CAP * duration / WRK_THREADS) + 1000
    prefix = str(Path(root) / f"pool-{kind}-{tag}")
    env = dict(os.environ, BENCH_WA_SECRET=WA_SECRET, BENCH_SLACK_SECRET=SLACK_SECRET)
    procs = [subprocess.Popen(["node", str(HERE / "gen.js"), kind, prefix, str(WRK_THREADS), str(per_thread),
                               "127.0.0.1", path, tag, str(t)], stdout=subprocess.PIPE, env=env, text=True)
             for t in range(WRK_THREADS)]
    info = [json.loads(p.communicate()[0]) for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError("gen.js failed")
    return prefix, info[0]["body_bytes_avg"], per_thread * WRK_THREADS


def wrk_cmd(url, duration):
    return ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNS}", f"-d{duration}s", "--timeout", "5s",
            "-s", str(HERE / "wrk" / "pool.lua"), url]


def run_wrk(url, prefix, duration):
    # wrk's own CPU: the only child waited for in between (the servers are
    # reaped when they stop), so the children's rusage delta is wrk's
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(wrk_cmd(url, duration), capture_output=True, text=True,
                       env=dict(os.environ, BENCH_POOL=prefix), timeout=duration + 120)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in r.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            j = json.loads(line[11:])
            j["rps"] = j["requests"] / (j["duration_us"] / 1e6)
            cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
            j["cpu_wrk"] = 100 * cpu_s / (j["duration_us"] / 1e6)
            return j
    raise RuntimeError(f"wrk gave no result:\n{r.stdout}\n{r.stderr}")


def webhook_row(w, samp, names):
    row = {"rps": w["rps"], "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
           "max_ms": w["max_us"] / 1000, "non200": w["non200"] + w["errors_timeout"] + w["errors_read"] +
           w["errors_connect"] + w["errors_write"], "statuses": w["statuses"], "exhausted": w["exhausted"],
           "requests": w["requests"], "cpu_wrk": w.get("cpu_wrk")}
    for label, name in names.items():
        row[f"rss_mib_{label}"] = samp.peak[name] / 1024
        row[f"cpu_{label}"] = samp.cpu[name]
    if samp.threads:
        row["cpu_threads"] = samp.threads
    return row


# What the ingest script (gateway/io.c) runs for a new message: EVALSHA, the
# dedupe SET NX, the conversation's number (INCR + EXPIRE) and the XADD.
INGEST_CMDS = ("evalsha", "set", "incr", "expire", "xadd")


def scenario_webhook(kind, args, root):
    path = "/webhooks/whatsapp" if kind == "whatsapp" else "/webhooks/slack/events"
    peer_script = "wa_verify.js" if kind == "whatsapp" else "bolt.js"
    runs = []
    for r in range(args.runs):
        tag = f"r{r}{int(time.time()) % 100000}"
        prefix, body_avg, pool_n = make_pool(kind, root, tag, args.duration, path)
        run = {"body_bytes": body_avg, "pool": pool_n}
        order = ["redress", "peer"] if r % 2 == 0 else ["peer", "redress"]
        for system in order:
            if system == "redress":
                rd = Redis(root)
                gw = Gateway(root, rd.url)
                try:
                    gw.start()
                    settle(0.5)
                    before, xlen0 = rd.commandstats(), int(rd.cli("XLEN", "rd:inbound") or 0)
                    with Sampler({"gw": gw.proc.pid, "redis": rd.proc.pid}) as s:
                        w = run_wrk(gw.url, prefix, args.duration)
                    row = webhook_row(w, s, {"gw": "gw", "redis": "redis"})
                    xlen = int(rd.cli("XLEN", "rd:inbound") or 0) - xlen0
                    delta = stats_delta(before, rd.commandstats())
                    row["appended"] = xlen
                    ok200 = w["requests"] - w["non200"]
                    # every 200 is an entry in the stream (the last request a stopping wrk
                    # thread sends may be answered after wrk stopped counting)
                    row["appended_per_200"] = xlen / ok200 if ok200 else None
                    ingest = sum(v for k, v in delta.items() if k in INGEST_CMDS)
                    row["redis_cmds_ingest_per_msg"] = ingest / xlen if xlen else None
                    row["redis_rtt_ingest_per_msg"] = delta.get("evalsha", 0) / xlen if xlen else None
                    row["redis_cmds_all_per_msg"] = sum(delta.values()) / xlen if xlen else None
                    row["redis_cmds"] = delta
                    row["agent_lag"] = rd.cli("XINFO", "GROUPS", "rd:inbound")
                    run["redress"] = row
                finally:
                    gw.stop()
                    rd.stop()
            else:
                p = Node(peer_script, {"BENCH_WA_SECRET": WA_SECRET, "BENCH_SLACK_SECRET": SLACK_SECRET})
                try:
                    settle(0.5)
                    with Sampler({"peer": p.proc.pid}) as s:
                        w = run_wrk(p.url, prefix, args.duration)
                    run["peer"] = webhook_row(w, s, {"peer": "peer"})
                finally:
                    p.stop()
            log(kind, f"run {r + 1}/{args.runs}", system, f"{run[system]['rps']:.0f} req/s",
                f"p99 {run[system]['p99_ms']:.2f} ms", f"non-200 {run[system]['non200']}")
        for f in Path(root).glob(f"pool-{kind}-{tag}.*"):
            f.unlink()
        run["ratio_rps"] = run["redress"]["rps"] / run["peer"]["rps"] if run["peer"]["rps"] else None
        runs.append(run)
    return {"runs": runs, "command": " ".join(wrk_cmd("http://127.0.0.1:PORT", args.duration)),
            "peer": peer_script}


# ---- test channel ----

def chat_cmd(url, *a):
    return ["node", str(PEERS / "chat.js"), *a[:1], url, API_KEY, *map(str, a[1:])]


CHAT_WARMUP_S = 2  # at the same rate, right before the counted seconds (bench/peers/chat.js)


def scenario_chat(args, root):
    runs = []
    rate = 2000
    for r in range(args.runs):
        rd = Redis(root)
        gw = Gateway(root, rd.url)
        try:
            imp = gw.run_cli("orders", "import", str(REPO / "demo" / "orders.jsonl"))
            if imp.returncode:
                raise RuntimeError(imp.stderr)
            gw.start()
            settle(0.5)
            before, p0 = rd.commandstats(), rd.persistence()
            with Sampler({"gw": gw.proc.pid, "redis": rd.proc.pid}) as s:
                out = subprocess.run(chat_cmd(gw.url, "rate", rate, args.duration, f"r{r}", CHAT_WARMUP_S),
                                     capture_output=True, text=True, cwd=PEERS,
                                     timeout=CHAT_WARMUP_S + args.duration + 120)
            j = json.loads(out.stdout.strip().splitlines()[-1])
            settle(0.5)
            delta = stats_delta(before, rd.commandstats())
            j["redis_cmds_all_per_msg"] = sum(delta.values()) / (j["sent"] + j.get("warmup_sent", 0))
            j["redis_cmds"] = delta
            # Redis rewrites its AOF (a fork that copies the whole dataset) once it has grown past
            # auto-aof-rewrite-min-size (64 MB); ~4 KB of AOF a message reaches it within a run
            p1 = rd.persistence()
            j["aof_rewrite"] = p1.get("aof_base_size") != p0.get("aof_base_size") or \
                p1.get("aof_rewrite_in_progress") == "1"
            # while Redis forks it serves no one: how long that took (the page tables are copied)
            j["fork_ms"] = int(p1.get("latest_fork_usec", 0)) / 1000 if j["aof_rewrite"] else None
            j["redis_stalls"] = rd.stalls()
            # the gateway's own view, warm-up included: replies later than 10 / 50 / 100 ms
            h = gw.reply_latency()
            j["server_over_ms"] = {str(ms): h["+Inf"] - h[ms] for ms in (10, 50, 100) if ms in h}
            j["rss_mib_gw"], j["cpu_gw"] = s.peak["gw"] / 1024, s.cpu["gw"]
            j["cpu_threads"] = s.threads
            j["rss_mib_redis"], j["cpu_redis"] = s.peak["redis"] / 1024, s.cpu["redis"]
            runs.append(j)
            log("chat", f"run {r + 1}/{args.runs}", f"p50 {j['latency']['p50_ms']:.2f} ms",
                f"p99 {j['latency']['p99_ms']:.2f} ms", f"ok {j['ok']}/{j['sent']}")
        finally:
            gw.stop()
            rd.stop()
    return {"runs": runs, "rate": rate, "warmup_s": CHAT_WARMUP_S,
            "command": " ".join(chat_cmd("http://127.0.0.1:PORT", "rate", rate, args.duration, "TAG",
                                         CHAT_WARMUP_S))}


def bench_orders(path, n, prefix):
    with open(path, "w") as f:
        for k in range(n):
            f.write(json.dumps({
                "id": f"{prefix}{k}", "currency": "USD", "total": 4900, "refunded": 0,
                "customer": {"name": f"Bench {k}", "email": f"bench{k}@example.com", "phone": "+14155550199",
                             "risk_score": 0.02, "chargebacks": 0},
                "items": [{"sku": "MUG-014", "category": "home", "final_sale": False, "price": 2450,
                           "quantity": 2}],
                "payment": {"rail": "card", "provider": "sandbox", "id": f"pi_bench_{k}"},
                "created_at": "-6d", "delivered_at": "-3d", "delivery_status": "delivered"}) + "\n")


def scenario_conversation(args, root):
    runs = []
    n = args.conversations
    for r in range(args.runs):
        rd = Redis(root)
        gw = Gateway(root, rd.url)
        try:
            prefix = f"90{r}"
            orders = Path(root) / "bench-orders.jsonl"
            bench_orders(orders, n, prefix)
            imp = gw.run_cli("orders", "import", str(orders))
            if imp.returncode:
                raise RuntimeError(imp.stderr)
            gw.start()
            settle(0.5)
            before = rd.commandstats()
            out = subprocess.run(chat_cmd(gw.url, "conv", n, f"r{r}", prefix), capture_output=True, text=True,
                                 cwd=PEERS, timeout=600)
            j = json.loads(out.stdout.strip().splitlines()[-1])
            settle(0.5)
            delta = stats_delta(before, rd.commandstats())
            j["redis_cmds_per_conversation"] = sum(delta.values()) / n
            j["redis_cmds"] = delta
            j["audit_entries"] = int(rd.cli("XLEN", "rd:audit") or 0)
            v = gw.run_cli("audit", "verify")
            j["audit_verify"] = v.stdout.strip()
            runs.append(j)
            log("conversation", f"run {r + 1}/{args.runs}", f"median {j['total']['p50_ms']:.2f} ms",
                f"p99 {j['total']['p99_ms']:.2f} ms", f"complete {j['complete']}/{n}")
        finally:
            gw.stop()
            rd.stop()
    return {"runs": runs, "conversations": n,
            "command": " ".join(chat_cmd("http://127.0.0.1:PORT", "conv", n, "TAG", "ORDER_PREFIX"))}


# ---- web chat sessions ----

def sessions_cmd(kind, url, n):
    return ["node", str(PEERS / "sessions.js"), kind, url, str(n), "180"]


def hold_sessions(kind, url, pid, n):
    base = rss_kib(pid)
    c = subprocess.Popen(sessions_cmd(kind, url, n), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         cwd=PEERS, preexec_fn=raise_nofile)
    t0 = time.monotonic()
    cpu0 = cpu_ticks(pid)
    j = json.loads(c.stdout.readline())
    settle(2.0)  # let the server go idle, then read its RSS
    held = rss_kib(pid)
    c.stdin.close()
    c.wait(60)
    return {"sessions": j["sessions"], "failed": j["failed"], "connect_s": j["seconds"],
            "rss_idle_mib": base / 1024, "rss_held_mib": held / 1024,
            "kib_per_session": (held - base) / j["sessions"] if j["sessions"] else None,
            "cpu_s_to_open": (cpu_ticks(pid) - cpu0) / CLK, "wall_s": time.monotonic() - t0}


def scenario_webchat(args, root):
    n = args.sessions
    runs = []
    for r in range(args.runs):
        run = {}
        order = ["redress", "ws", "sio"] if r % 2 == 0 else ["sio", "ws", "redress"]
        for system in order:
            if system == "redress":
                rd = Redis(root)
                gw = Gateway(root, rd.url)
                try:
                    gw.start()
                    settle(2.0)
                    url = gw.url.replace("http", "ws") + "/webchat/ws"
                    run["redress"] = hold_sessions("redress", url, gw.proc.pid, n)
                finally:
                    gw.stop()
                    rd.stop()
            else:
                p = Node("ws_idle.js" if system == "ws" else "sio_idle.js")
                try:
                    settle(2.0)
                    url = p.url.replace("http", "ws") + "/webchat/ws" if system == "ws" else p.url
                    run[system] = hold_sessions(system, url, p.proc.pid, n)
                finally:
                    p.stop()
            x = run[system]
            log("webchat", f"run {r + 1}/{args.runs}", system, f"{x['sessions']} sessions",
                f"{x['kib_per_session'] or 0:.2f} KiB each", f"idle {x['rss_idle_mib']:.1f} MiB")
        runs.append(run)
    return {"runs": runs, "sessions": n, "command": " ".join(sessions_cmd("redress|ws|sio", "URL", n))}


# ---- report ----

def fmt(x, nd=1):
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return f"{x:,}"


def med(runs, *path):
    vals = []
    for r in runs:
        v = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        vals.append(v)
    return median(vals)


def cpu_busy_before(seconds=1.0):
    """Fraction of all CPUs busy during `seconds` (from /proc/stat), taken
    while nothing of the benchmark runs: other work on the machine."""
    def sample():
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = f[3] + (f[4] if len(f) > 4 else 0)
        return sum(f), idle
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 0.0 if t1 == t0 else 1.0 - (i1 - i0) / (t1 - t0)


def environment():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "node": ver(["node", "--version"]),
            "redis": ver(["redis-server", "--version"]).split("v=")[-1].split()[0],
            "wrk": " ".join(ver(["wrk", "--version"]).split()[:2]), "redress": ver([REDRESS_BIN, "--version"]),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "fsync": os.environ.get("BENCH_FSYNC", "everysec")}


def status(ok):
    return "**met**" if ok else "**missed**"


def render(results):
    L = ["# redress benchmarks", "",
         "Written by `make bench` (bench/bench.py) — do not edit by hand: the notes at the end come from "
         "bench/NOTES.md. How to rerun one scenario: bench/README.md.", ""]
    env = results.get("_env", {})
    if env:
        L += [f"Machine: {env['cpu']}, {env['cores']} cores, Linux {env['kernel']}; {env['redress']}, "
              f"Node {env['node']} (peers), Redis {env['redis']}, {env['wrk']}. Everything — load generator, "
              "servers, Redis — on these same cores, over loopback.", "",
              f"Redis durability for every redress figure: `appendonly yes`, `appendfsync {env['fsync']}` "
              "(what `make run` starts; scripts/run-local.sh), RDB save points at their defaults. A 200 from "
              "redress means the message is in the inbound stream (deduplicated and appended by one Lua "
              "script, before the answer is written); the peers store nothing.", ""]
        # The 1-minute load average still carries the previous scenario's own
        # load; what tells whether something else was running is the CPU
        # busy in the second before a scenario, with nothing of ours running.
        busy = [v.get("_busy") for k, v in results.items() if not k.startswith("_")]
        worst = max(busy) if busy and None not in busy else None
        if worst is None:
            L += ["(Some scenarios were measured before bench.py recorded the CPU in use by other work; "
                  "their load average at the start, in each section, includes the previous scenario's "
                  "own load.)", ""]
        elif worst > 0.10:
            L += [f"**The machine was busy when some of this ran (up to {worst:.0%} of its CPU in use by "
                  f"other work in the second before a scenario, on {env['cores']} cores; each section "
                  "gives its own): those wall-clock figures are depressed and noisy. Rerun `make bench` "
                  "on a quiet machine for figures to quote.**", ""]
        else:
            L += [f"The machine was quiet: at most {worst:.0%} of its CPU in use by other work in the "
                  "second before each scenario (each section gives its own load average, which still "
                  "carries the previous scenario's load).", ""]
    targets = []
    sections = []

    wa = results.get("whatsapp")
    if wa:
        R = wa["runs"]
        rps, p99, non = med(R, "redress", "rps"), med(R, "redress", "p99_ms"), max(r["redress"]["non200"] for r in R)
        prps = med(R, "peer", "rps")
        targets.append(("Signed WhatsApp webhook, ~1 KB, full ingest, 50 connections",
                        "≥ 50,000 req/s, p99 ≤ 3 ms, zero non-200",
                        f"{fmt(rps, 0)} req/s, p99 {fmt(p99, 2)} ms, non-200 {non}",
                        f"Node http + HMAC verifier (stores nothing): {fmt(prps, 0)} req/s, p99 "
                        f"{fmt(med(R, 'peer', 'p99_ms'), 2)} ms",
                        f"{fmt(med(R, 'ratio_rps'), 2)}×", status(rps >= 50000 and p99 <= 3 and non == 0),
                        wa["_when"]))
        sections.append(webhook_section("WhatsApp webhooks: POST /webhooks/whatsapp vs a Node http + "
                                        "createHmac verifier (bench/peers/wa_verify.js)", wa))
    sl = results.get("slack")
    if sl:
        R = sl["runs"]
        rps, p99 = med(R, "redress", "rps"), med(R, "redress", "p99_ms")
        ratio = med(R, "ratio_rps")
        targets.append(("Signed Slack event, ~1 KB, full ingest, 50 connections",
                        "≥ 3× the Bolt app's req/s, p99 ≤ 3 ms",
                        f"{fmt(rps, 0)} req/s, p99 {fmt(p99, 2)} ms",
                        f"@slack/bolt 5.1 HTTPReceiver: {fmt(med(R, 'peer', 'rps'), 0)} req/s, p99 "
                        f"{fmt(med(R, 'peer', 'p99_ms'), 2)} ms",
                        f"{fmt(ratio, 2)}×", status(ratio is not None and ratio >= 3 and p99 <= 3), sl["_when"]))
        sections.append(webhook_section("Slack events: POST /webhooks/slack/events vs a @slack/bolt app "
                                        "(bench/peers/bolt.js)", sl))
    ch = results.get("chat")
    if ch:
        R = ch["runs"]
        p50, p99 = med(R, "latency", "p50_ms"), med(R, "latency", "p99_ms")
        bad = sum(r["bad"] + r.get("warmup_not_200", 0) for r in R)
        calm = [r for r in R if r.get("aof_rewrite") is False]
        aside = (f" (the {len(calm)} runs without an AOF rewrite: p99 {fmt(med(calm, 'latency', 'p99_ms'), 2)} ms)"
                 if calm and len(calm) < len(R) else "")
        targets.append((f"Test-channel message → agent reply, end to end, at {ch['rate']:,} msg/s",
                        "p50 ≤ 2 ms, p99 ≤ 10 ms", f"p50 {fmt(p50, 2)} ms, p99 {fmt(p99, 2)} ms, "
                        f"{bad} without a reply{aside}", "no peer", "—",
                        status(p50 <= 2 and p99 <= 10 and bad == 0), ch["_when"]))
        sections.append(chat_section(ch))
    cv = results.get("conversation")
    if cv:
        R = cv["runs"]
        p50 = med(R, "total", "p50_ms")
        complete = all(r["complete"] == r["conversations"] for r in R)
        targets.append(("Whole refund conversation (4 turns: refund, credit note, audit)", "≤ 20 ms server time",
                        f"median {fmt(p50, 2)} ms, p99 {fmt(med(R, 'total', 'p99_ms'), 2)} ms", "no peer", "—",
                        status(p50 is not None and p50 <= 20 and complete), cv["_when"]))
        sections.append(conv_section(cv))
    wc = results.get("webchat")
    if wc:
        R = wc["runs"]
        per, held = med(R, "redress", "kib_per_session"), min(r["redress"]["sessions"] for r in R)
        idle = med(R, "redress", "rss_idle_mib")
        ratio = median([r["redress"]["kib_per_session"] / r["ws"]["kib_per_session"] for r in R
                        if r["redress"]["kib_per_session"] and r["ws"]["kib_per_session"]])
        targets.append((f"Concurrent idle web chat sessions", f"{wc['sessions']:,} held at ≤ 4 KiB RSS each",
                        f"{held:,} held, {fmt(per, 2)} KiB each",
                        f"ws: {fmt(med(R, 'ws', 'kib_per_session'), 2)} KiB, socket.io: "
                        f"{fmt(med(R, 'sio', 'kib_per_session'), 2)} KiB", f"{fmt(ratio, 2)}× ws",
                        status(held >= wc["sessions"] and per is not None and per <= 4), wc["_when"]))
        mb = idle * 1.048576 if idle is not None else None  # MiB → MB (10^6 bytes)
        targets.append(("Idle gateway RSS", "≤ 10 MB (10^6 bytes: 9.54 MiB)",
                        f"{fmt(idle, 2)} MiB ({fmt(mb, 2)} MB)",
                        f"ws: {fmt(med(R, 'ws', 'rss_idle_mib'), 1)} MiB, socket.io: "
                        f"{fmt(med(R, 'sio', 'rss_idle_mib'), 1)} MiB", "—",
                        status(mb is not None and mb <= 10), wc["_when"]))
        sections.append(webchat_section(wc))
    if wa or ch:
        cmds = []
        if wa:
            cmds.append(f"ingest {fmt(med(wa['runs'], 'redress', 'redis_cmds_ingest_per_msg'), 2)} commands "
                        f"in {fmt(med(wa['runs'], 'redress', 'redis_rtt_ingest_per_msg'), 2)} round trip "
                        "(EVALSHA: SET NX, INCR + EXPIRE of the conversation's number, XADD)")
        if ch:
            cmds.append(f"a whole agent turn through the test channel {fmt(med(ch['runs'], 'redis_cmds_all_per_msg'), 1)}")
        targets.append(("Redis commands per processed message", "counted and reported", "; ".join(cmds), "—", "—",
                        "reported", (wa or ch)["_when"]))

    L += ["## Targets", "", "| scenario | target | redress (median) | peer (median) | ratio | status | measured |",
          "|---|---|---|---|---|---|---|"]
    for t in targets:
        L.append("| " + " | ".join(t) + " |")
    L += [""]
    for s in sections:
        L += s + [""]
    if NOTES_MD.exists():
        L += [NOTES_MD.read_text().rstrip(), ""]
    return "\n".join(L)


def split(x):
    t = x.get("cpu_threads")
    return f" ({t['service']:.0f} / {t['store']:.0f} / {t['agents']:.0f})" if t else ""


def webhook_section(title, d):
    R = d["runs"]
    L = [f"## {title}", "", f"Measured {d['_when']} (load average {d.get('_load', '?')} at the start), {len(R)} runs, alternating; ~{R[0]['body_bytes']} byte bodies, "
         f"each request a new message id (pools of {R[0]['pool']:,} pre-signed requests, bench/gen.js).", "",
         f"Command: `BENCH_POOL=… {d['command']}`", "",
         "| run | system | req/s | p50 ms | p99 ms | max ms | non-200 | CPU % server (service / store / agents) "
         "| CPU % Redis | CPU % wrk | peak RSS MiB server | appended / 200 | Redis cmds per msg (ingest / all) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(R, 1):
        for sysname in ("redress", "peer"):
            x = r[sysname]
            lab = "gw" if sysname == "redress" else "peer"
            L.append(f"| {i} | {sysname if sysname == 'redress' else d['peer']} | {fmt(x['rps'], 0)} | "
                     f"{fmt(x['p50_ms'], 2)} | {fmt(x['p99_ms'], 2)} | {fmt(x['max_ms'], 1)} | {x['non200']} | "
                     f"{fmt(x['cpu_' + lab], 0)}{split(x)} | {fmt(x.get('cpu_redis'), 0)} | {fmt(x.get('cpu_wrk'), 0)} | "
                     f"{fmt(x['rss_mib_' + lab], 1)} | "
                     f"{fmt(x.get('appended_per_200'), 3)} | {fmt(x.get('redis_cmds_ingest_per_msg'), 2)} / "
                     f"{fmt(x.get('redis_cmds_all_per_msg'), 2)} |")
    L += ["", f"Median redress/peer ratio of req/s (per run): {fmt(med(R, 'ratio_rps'), 2)}×. "
          "The gateway's agent workers (2, the default) run during the load and answer the backlog as "
          "they can: their CPU is the \"agents\" share, and \"all\" Redis commands include theirs (the "
          "agents' group lag at the end of each run is in bench/out/results.json). With the platforms' APIs "
          "unreachable, WhatsApp agents mostly wait on the read receipt they send per message, while Slack "
          "agents answer at full speed. \"ingest\" counts the commands the ingest script runs (EVALSHA, "
          "SET, INCR, EXPIRE, XADD) per appended message; Slack's agents run some of the same commands, so "
          "its ingest column includes some of theirs. \"CPU % wrk\" is the load generator's own share of "
          "the same two cores."]
    return L


def chat_section(d):
    R = d["runs"]
    L = ["## Test channel, end to end: POST /v1/test/messages → agent reply", "",
         f"Measured {d['_when']} (load average {d.get('_load', '?')} at the start), {len(R)} runs. Open loop at {d['rate']:,} msg/s: request i is due at "
         "t0 + i/rate and its latency counts from then (a stall is not hidden by the client waiting); "
         + (f"the first {d['warmup_s']} s of each run go at the same rate and are not counted (a fresh gateway "
            "compiles its phrase tables and loads its scripts on its first messages, the client's JIT and "
            "connection pool start cold); " if d.get("warmup_s") else "") +
         "\"service\" counts from when it was sent. Each message is a new customer's first turn (\"I want a "
         "refund for order 1001\": dedupe, append, an agent turn — the understanding, the customer's "
         "message count, an audit entry; it asks for the order's email, so the order is not looked up "
         "yet — one MULTI commit, outbox, sender, pub/sub back to the waiting request).", "", f"Command: `{d['command']}`", "",
         "| run | sent | ok | achieved msg/s | p50 ms | p90 ms | p99 ms | max ms | service p50 / p99 ms | "
         "CPU % gw (service / store / agents) / Redis | peak RSS MiB gw | Redis cmds per msg | AOF rewrite | "
         "Redis held up ≥ 5 ms | gateway's replies > 10 / 50 ms |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(R, 1):
        a, s = r["latency"], r["service"]
        L.append(f"| {i} | {r['sent']} | {r['ok']} | {fmt(r['achieved_rate'], 0)} | {fmt(a['p50_ms'], 2)} | "
                 f"{fmt(a['p90_ms'], 2)} | {fmt(a['p99_ms'], 2)} | {fmt(a['max_ms'], 1)} | {fmt(s['p50_ms'], 2)} / "
                 f"{fmt(s['p99_ms'], 2)} | {fmt(r['cpu_gw'], 0)}{split(r)} / {fmt(r['cpu_redis'], 0)} | "
                 f"{fmt(r['rss_mib_gw'], 1)} | {fmt(r['redis_cmds_all_per_msg'], 1)} | "
                 f"{aof_cell(r)} | {stalls_cell(r)} | {over_cell(r)} |")
    top = sorted(R[-1]["redis_cmds"].items(), key=lambda kv: -kv[1])[:12]
    L += ["", "Redis commands of the last run, by command (calls per message): " +
          ", ".join(f"{k} {v / (R[-1]['sent'] + R[-1].get('warmup_sent', 0)):.2f}" for k, v in top) + ".",
          "", "\"AOF rewrite\": Redis rewrote its append-only file during the run (a fork that writes the "
          "whole dataset out, on the same two cores), which it does once the file has grown past "
          "`auto-aof-rewrite-min-size` (64 MB, the default) — a turn appends ~4 KB to it (bench/NOTES.md); "
          "\"fork\" is how long Redis stood still to start it (`latest_fork_usec`). \"Redis held up\": "
          "Redis's own latency monitor (`latency-monitor-threshold 5`, `LATENCY LATEST`): every event of "
          "5 ms or more, as samples × worst. \"gateway's replies\": from the gateway's own histogram "
          "(`redress_reply_latency_seconds` on /metrics: message stored → reply delivered, the warm-up "
          "included), how many took longer — it tells a tail inside the gateway and Redis from one in "
          "the load client."]
    return L


def stalls_cell(r):
    if "redis_stalls" not in r:
        return "—"
    if not r["redis_stalls"]:
        return "none"
    return ", ".join(f"{ev} {n}× ≤ {ms} ms" for ev, (n, ms) in sorted(r["redis_stalls"].items()))


def over_cell(r):
    o = r.get("server_over_ms")
    if not o:
        return "—"
    return f"{fmt(o.get('10'))} / {fmt(o.get('50'))}"


def aof_cell(r):
    if "aof_rewrite" not in r:
        return "—"
    if not r["aof_rewrite"]:
        return "no"
    return f"yes, fork {fmt(r['fork_ms'], 1)} ms" if r.get("fork_ms") is not None else "yes"


def conv_section(d):
    R = d["runs"]
    L = ["## Whole refund conversation, 4 turns", "",
         f"Measured {d['_when']} (load average {d.get('_load', '?')} at the start), {len(R)} runs of {d['conversations']} conversations one after another, each "
         "on its own order: \"Hi\" → \"I want a refund for order N\" → the order's email → the confirm button "
         "(refund on the sandbox rail inside the mandate, credit note, every step audited). Server time = the "
         "sum of the 4 request times seen by the client on loopback.", "", f"Command: `{d['command']}`", "",
         "| run | complete | median ms | p90 ms | p99 ms | max ms | turn medians ms | Redis cmds per conversation "
         "| audit |", "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(R, 1):
        t = r["total"]
        L.append(f"| {i} | {r['complete']}/{r['conversations']} | {fmt(t['p50_ms'], 2)} | {fmt(t['p90_ms'], 2)} | "
                 f"{fmt(t['p99_ms'], 2)} | {fmt(t['max_ms'], 1)} | "
                 f"{' / '.join(fmt(x['p50_ms'], 2) for x in r['turns'])} | "
                 f"{fmt(r['redis_cmds_per_conversation'], 0)} | {r['audit_verify']} |")
    return L


def webchat_section(d):
    R = d["runs"]
    L = ["## Idle web chat sessions: /webchat/ws vs `ws` and socket.io", "",
         f"Measured {d['_when']} (load average {d.get('_load', '?')} at the start), {len(R)} runs. {d['sessions']:,} sessions, each says hello and gets its "
         "welcome (redress: a session created in Redis through the store thread), then all sit idle. RSS per "
         "session = (RSS with the sessions − RSS idle) / sessions, read from /proc 2 s after the last welcome.",
         "", f"Command: `{d['command']}`", "",
         "| run | system | held | failed | open s | idle RSS MiB | held RSS MiB | KiB per session |",
         "|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(R, 1):
        for s in ("redress", "ws", "sio"):
            x = r[s]
            L.append(f"| {i} | {s} | {x['sessions']:,} | {x['failed']} | {fmt(x['connect_s'], 1)} | "
                     f"{fmt(x['rss_idle_mib'], 1)} | {fmt(x['rss_held_mib'], 1)} | {fmt(x['kib_per_session'], 2)} |")
    return L


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10, help="seconds of load per run (webhooks, chat)")
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--conversations", type=int, default=200)
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from results.json")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if not args.render:
        want = [s.strip() for s in args.only.split(",") if s.strip()]
        for s in want:
            if s not in SCENARIOS:
                sys.exit(f"bench: unknown scenario {s} (one of {', '.join(SCENARIOS)})")
        if not os.access(REDRESS_BIN, os.X_OK):
            sys.exit(f"bench: {REDRESS_BIN} missing: run make (or set REDRESS_BIN)")
        results["_env"] = environment()
        root = tempfile.mkdtemp(prefix="redress-bench-")
        try:
            for s in want:
                t0 = time.monotonic()
                load_at_start = float(Path("/proc/loadavg").read_text().split()[0])
                busy_at_start = cpu_busy_before()
                log(f"scenario {s} (load average {load_at_start}, CPU busy {busy_at_start:.0%} "
                    "in the second before, with nothing of the benchmark running)")
                if s in ("whatsapp", "slack"):
                    res = scenario_webhook(s, args, root)
                elif s == "chat":
                    res = scenario_chat(args, root)
                elif s == "conversation":
                    res = scenario_conversation(args, root)
                else:
                    res = scenario_webchat(args, root)
                res["_when"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
                res["_load"] = load_at_start
                res["_busy"] = busy_at_start
                res["_args"] = vars(args)
                results[s] = res
                RESULTS_JSON.write_text(json.dumps(results, indent=1))
                log(f"scenario {s} took {time.monotonic() - t0:.0f} s")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    RESULTS_MD.write_text(render(results))
    log(f"wrote {RESULTS_MD}")


if __name__ == "__main__":
    main()
