"""Fixtures for redress integration tests (mosquitto test/broker style).

Each test gets its own redis-server and gateway processes on free ports on
127.0.0.1, a temporary config written from a dict of overrides, and bounded
poll loops instead of sleeps. Helpers that are not fixtures are plain
functions; import them with `from conftest import run_cli, RawConn, ...`.

    def test_refund(gateway, redis_server):
        gw = gateway({"policy": {"auto_approve_max": "USD 150.00"}})
        import_demo_orders(gw)
        r = gw.send("marina", "Oi, quero reembolso do pedido 8421", locale="pt-BR")
        assert r.status_code == 200
        assert redis_server.client.xlen("rd:audit") > 0
"""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests

REPO = Path(__file__).resolve().parents[2]
REDRESS_BIN = os.environ.get("REDRESS_BIN") or str(REPO / "build" / "redress")
API_KEY = "test-key"
SANITIZER = bool(os.environ.get("SANITIZER"))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

_live_gateways = []  # gateways of the running test, for failure reports


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Poll predicate() until it returns a truthy value (returned), or raise
    TimeoutError after timeout seconds. Exceptions from predicate count as
    not-yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not true after {timeout} s")
        time.sleep(interval)


def child_env(extra=None):
    """os.environ without REDRESS_* config overrides from the caller's shell,
    plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(extra or {})
    return env


def check_sanitizer_output(text, who):
    """Fail the test when a sanitizer reported something (only if SANITIZER is set)."""
    if SANITIZER:
        for marker in SANITIZER_MARKERS:
            if marker in text:
                pytest.fail(f"{who}: sanitizer report ({marker!r}):\n{tail(text, 80)}")


def require_binary():
    if not os.access(REDRESS_BIN, os.X_OK):
        pytest.fail(f"gateway binary {REDRESS_BIN} missing: run make (or set REDRESS_BIN)")


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- redis

class RedisServer:
    """A redis-server child with AOF (fsync always) under dir, on 127.0.0.1:port."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(host="127.0.0.1", port=self.port, db=0,
                                  decode_responses=True, socket_timeout=5,
                                  socket_connect_timeout=1)
        self.proc = None

    def start(self, timeout=5):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n"
                                   f"{tail(self._log())}")
            try:
                if self.client.ping():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError(f"redis-server not answering PING after {timeout} s:\n"
                                   f"{tail(self._log())}")
            time.sleep(0.05)

    def stop(self, timeout=5):
        """SIGTERM (redis flushes the AOF), SIGKILL after timeout."""
        self.client.connection_pool.disconnect()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)

    def restart(self):
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def _log(self):
        p = self.dir / "redis.log"
        return p.read_text(errors="replace") if p.exists() else ""


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- gateway

def merge_config(base, overrides):
    """{section: {key: value}} merged; values are written as str()."""
    merged = {s: dict(kv) for s, kv in base.items()}
    for section, kv in (overrides or {}).items():
        merged.setdefault(section, {}).update(kv)
    return merged


def render_config(sections):
    out = []
    for section, kv in sections.items():
        out.append(f"[{section}]")
        out += [f"{k} = {v}" for k, v in kv.items()]
        out.append("")
    return "\n".join(out)


class GatewayError(RuntimeError):
    pass


class Gateway:
    """One `redress serve` process with its own config.ini in workdir."""

    def __init__(self, workdir, redis_url, overrides=None, env=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = API_KEY
        self.env = dict(env or {})
        base = {
            "gateway": {"listen": f"127.0.0.1:{self.port}", "claim_idle_ms": 1000,
                        "log_level": "debug"},
            "redis": {"url": redis_url},
            "test_channel": {"enabled": "true", "api_key": API_KEY},
            "templates": {"dir": str(REPO / "templates")},
            "webchat": {"assets_dir": str(REPO / "channels" / "webchat")},
        }
        self.config = merge_config(base, overrides)
        self.config_path = self.dir / "config.ini"
        self.config_path.write_text(render_config(self.config))
        self.log_path = self.dir / "gateway.log"
        self.proc = None
        self.http = requests.Session()

    def config_line(self, section, key):
        """1-based line number of `key` in [section] of the written config.ini."""
        current = None
        for n, line in enumerate(self.config_path.read_text().splitlines(), 1):
            if line.startswith("["):
                current = line.strip("[] ")
            elif current == section and line.split("=", 1)[0].strip() == key:
                return n
        raise KeyError(f"[{section}] {key} not in {self.config_path}")

    # -- process

    def start(self, timeout=10):
        """Start serve and poll GET /readyz until 200. Raises GatewayError
        with the log tail if it exits or is not ready within timeout."""
        require_binary()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([REDRESS_BIN, "serve", "--config", str(self.config_path)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         env=child_env(self.env), cwd=self.dir)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise GatewayError(f"gateway exited with {self.proc.returncode} before ready:\n"
                                   f"{tail(self.log_text())}")
            try:
                if self.http.get(self.url + "/readyz", timeout=0.5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() >= deadline:
                self.kill(signal.SIGKILL)
                raise GatewayError(f"gateway not ready after {timeout} s:\n{tail(self.log_text())}")
            time.sleep(0.05)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGTERM, timeout=15):
        """Send sig, wait for the exit and return the exit code (negative:
        killed by that signal). SIGKILLs and raises if it outlives timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise GatewayError(f"gateway ignored signal {sig} for {timeout} s:\n"
                                   f"{tail(self.log_text())}")
        return self.proc.returncode

    def restart(self, timeout=10):
        """SIGTERM if running, then start again: same config, same port."""
        self.kill(signal.SIGTERM)
        self.http.close()
        return self.start(timeout)

    def stop(self):
        """Teardown: SIGTERM, bounded wait, SIGKILL. Never raises."""
        try:
            self.kill(signal.SIGTERM)
        except GatewayError:
            pass
        self.http.close()

    def log_text(self):
        """Everything the gateway wrote (all runs, JSON lines)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_events(self):
        """The log lines that parse as JSON objects."""
        events = []
        for line in self.log_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        return [e for e in events if isinstance(e, dict)]

    # -- HTTP

    def _headers(self, key, headers=None):
        h = {"Authorization": f"Bearer {key}"} if key is not None else {}
        h.update(headers or {})
        return h

    def get(self, path, key=None, headers=None, timeout=10):
        """GET path; key adds `Authorization: Bearer key`."""
        return self.http.get(self.url + path, headers=self._headers(key, headers), timeout=timeout)

    def post(self, path, data=None, headers=None, key=None, timeout=10):
        """POST path. data: dict/list → JSON body, str/bytes → sent as is."""
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
            headers = {"Content-Type": "application/json", **(headers or {})}
        return self.http.post(self.url + path, data=data, headers=self._headers(key, headers),
                              timeout=timeout)

    def send(self, user, text, locale=None, button=None, message_id=None, key=API_KEY,
             timeout=10):
        """POST /v1/test/messages. text=None leaves the field out; key=None
        sends no Authorization."""
        body = {"user": user}
        for name, value in (("text", text), ("locale", locale), ("button", button),
                            ("message_id", message_id)):
            if value is not None:
                body[name] = value
        return self.post("/v1/test/messages", body, key=key, timeout=timeout)

    def conversation(self, cid, key=API_KEY):
        """GET /v1/conversations/{cid} → requests.Response."""
        return self.get(f"/v1/conversations/{cid}", key=key)

    def connect(self, timeout=5):
        """A RawConn to the gateway, for requests requests cannot make."""
        return RawConn(self.port, timeout)


@pytest.fixture
def gateway(tmp_path, redis_server):
    """Factory: gateway(overrides=None, env=None, start=True) → Gateway.

    overrides: {section: {key: value}} merged over the minimal config.
    env: extra environment (REDRESS_* overrides). start=False only writes
    the config (for CLI tests and start-up failures)."""
    made = []

    def make(overrides=None, env=None, start=True):
        gw = Gateway(tmp_path / f"gw{len(made) + 1}", redis_server.url, overrides, env)
        made.append(gw)
        _live_gateways.append(gw)
        return gw.start() if start else gw

    yield make
    for gw in made:
        gw.stop()
    _live_gateways.clear()
    for gw in made:
        check_sanitizer_output(gw.log_text(), f"gateway {gw.dir.name}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the gateway logs to a failed test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        for gw in _live_gateways:
            report.sections.append((f"gateway log {gw.dir}", tail(gw.log_text(), 60)))


# --------------------------------------------------------------------------- CLI

def run_cli(*args, config=None, env=None, timeout=30):
    """Run `redress ARGS... [--config PATH]`; config is a path or a Gateway.
    Returns subprocess.CompletedProcess (text)."""
    require_binary()
    cmd = [REDRESS_BIN, *map(str, args)]
    if config is not None:
        cmd += ["--config", str(getattr(config, "config_path", config))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=child_env(env), cwd=REPO)
    check_sanitizer_output(proc.stderr, " ".join(cmd))
    return proc


def import_demo_orders(gw):
    """`redress orders import demo/orders.jsonl` with gw's config; asserts success."""
    proc = run_cli("orders", "import", REPO / "demo" / "orders.jsonl", config=gw)
    assert proc.returncode == 0, f"orders import failed ({proc.returncode}):\n{proc.stderr}"
    return proc


# --------------------------------------------------------------------------- raw HTTP

def build_request(method, path, headers=None, body=b""):
    """Bytes of an HTTP/1.1 request; only Host is added for you."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawResponse:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<RawResponse {self.status} {self.reason} {self.body[:200]!r}>"


class RawConn:
    """A plain socket to 127.0.0.1:port that reads HTTP/1.1 responses.
    Use as a context manager."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data, chunk=None, pause=0.0):
        """Send data, optionally in writes of chunk bytes with pause s between."""
        if not chunk:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), chunk):
            self.sock.sendall(data[i:i + chunk])
            time.sleep(pause)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete HTTP response; got {self.buf[:300]!r}")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"connection closed; got {self.buf[:300]!r}")
        self.buf += data

    def _take(self, n):
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, timeout=5):
        """Read one response (a 1xx too). Body by Content-Length, chunked,
        or until close."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head = self._take(self.buf.index(b"\r\n\r\n") + 4).decode("latin-1")
        status_line, *header_lines = head.rstrip("\r\n").split("\r\n")
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        assert version.startswith("HTTP/1."), f"bad status line {status_line!r}"
        headers = {}
        for line in header_lines:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        status = int(status)
        if 100 <= status < 200 or status in (204, 304):
            return RawResponse(status, reason, headers, b"")
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill(deadline)
            return RawResponse(status, reason, headers, self._take(n))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return RawResponse(status, reason, headers, self._read_chunked(deadline))
        try:
            while True:
                self._fill(deadline)
        except ConnectionError:
            pass
        return RawResponse(status, reason, headers, self._take(len(self.buf)))

    def _read_chunked(self, deadline):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill(deadline)
            size = int(self._take(self.buf.index(b"\r\n") + 2).split(b";")[0], 16)
            while len(self.buf) < size + 2:
                self._fill(deadline)
            body += self._take(size)
            self._take(2)
            if size == 0:
                return body

    def request(self, data, timeout=5, **send_kw):
        """send(data) then read_response()."""
        self.send(data, **send_kw)
        return self.read_response(timeout)
