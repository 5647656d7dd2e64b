"""A bounded load generator that behaves like a messaging platform: each
customer's messages are POSTed in order, and a message that is not
acknowledged with 200 (connection refused, reset, timeout, 5xx) is sent again
— the same bytes, so the gateway's dedupe sees the same message id — after a
short backoff, until it is acknowledged or the deadline passes.

    script = [Step(path, body, headers), Step(..., wait=callable), ...]
    run = Load(gw_url, [script, ...], threads=24, deadline_s=120).start()
    run.wait_acked(800)          # until at least 800 steps were acknowledged
    run.snapshot()               # {"acked", "in_flight", "sent", ...}
    run.join()                   # every script done (or the deadline passed)

A Step's wait, when given, is called (in the script's thread) before the
step is posted; it blocks until the step makes sense (an offer to answer) or
raises. Only the standard library and requests."""
import threading
import time
from dataclasses import dataclass, field

import requests


@dataclass
class Step:
    path: str
    body: bytes
    headers: dict
    key: str = ""                       # what the test calls it (a message id)
    wait: object = None                 # callable() run before posting, or None
    acked: bool = False
    attempts: int = 0
    statuses: list = field(default_factory=list)   # HTTP status or exception name per try
    acked_at: float = 0.0


class Load:
    def __init__(self, base_url, scripts, threads=24, deadline_s=120, timeout_s=10,
                 backoff_s=(0.05, 0.5)):
        self.base_url = base_url
        self.scripts = list(scripts)
        self.threads = threads
        self.deadline = time.monotonic() + deadline_s
        self.timeout_s = timeout_s
        self.backoff = backoff_s
        self._lock = threading.Condition()
        self._next = 0
        self._in_flight = 0
        self._acked = 0
        self._sent = 0
        self._errors = []
        self._workers = []

    # ------------------------------------------------------------ running

    def start(self):
        for i in range(self.threads):
            t = threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def _take(self):
        with self._lock:
            if self._next >= len(self.scripts):
                return None
            s = self.scripts[self._next]
            self._next += 1
            return s

    def _run(self):
        http = requests.Session()
        try:
            while time.monotonic() < self.deadline:
                script = self._take()
                if script is None:
                    return
                for step in script:
                    if not self._post_until_acked(http, step):
                        return
        except Exception as e:  # noqa: BLE001 - reported by join()
            with self._lock:
                self._errors.append(f"{type(e).__name__}: {e}")
        finally:
            http.close()

    def _post_until_acked(self, http, step):
        if step.wait is not None:
            step.wait()
        delay = self.backoff[0]
        while time.monotonic() < self.deadline:
            with self._lock:
                self._in_flight += 1
                self._sent += 1
            step.attempts += 1
            try:
                r = http.post(self.base_url + step.path, data=step.body, headers=step.headers,
                              timeout=self.timeout_s)
                step.statuses.append(r.status_code)
                ok = r.status_code == 200
            except requests.RequestException as e:
                step.statuses.append(type(e).__name__)
                ok = False
                http.close()            # a dead keep-alive connection: start afresh
            with self._lock:
                self._in_flight -= 1
                if ok:
                    self._acked += 1
                    self._lock.notify_all()
            if ok:
                step.acked, step.acked_at = True, time.monotonic()
                return True
            time.sleep(delay)
            delay = min(delay * 2, self.backoff[1])
        return False

    # ------------------------------------------------------------ reading

    def snapshot(self):
        with self._lock:
            return {"acked": self._acked, "in_flight": self._in_flight, "sent": self._sent,
                    "scripts_started": self._next}

    def wait_acked(self, n, timeout=60):
        """Block until at least n steps were acknowledged (TimeoutError otherwise)."""
        end = time.monotonic() + timeout
        with self._lock:
            while self._acked < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"only {self._acked} of {n} acknowledged after {timeout} s")
                self._lock.wait(min(left, 0.5))

    def join(self):
        """Wait for every thread (bounded by the deadline); returns the steps
        that were never acknowledged. Raises what a thread raised."""
        for t in self._workers:
            t.join(max(0.0, self.deadline - time.monotonic()) + 5)
        if self._errors:
            raise AssertionError(f"load threads failed: {self._errors[:5]}")
        return [s for script in self.scripts for s in script if not s.acked]

    def steps(self):
        return [s for script in self.scripts for s in script]
