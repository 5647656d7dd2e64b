#!/bin/sh
# The web chat in a real browser: installs what is missing (Debian's
# chromium, the npm lockfile's playwright-core), starts a redis-server and the
# gateway on free loopback ports with a temporary config and the demo orders,
# runs webchat.spec.mjs against them, stops both and exits with the spec's
# status. Env: REDRESS_BIN (default build/redress), SCREENSHOT (default
# build/webchat.png), KEEP_TMP=1 keeps the temporary directory (config, logs).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${REDRESS_BIN:-$REPO/build/redress}
STARTUP_S=15
# REDRESS_<SECTION>_<KEY> from the caller's shell would override our config
for v in $(env | sed -n 's/^\(REDRESS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

say() { echo "browser: $*" >&2; }
die() { say "$*"; exit 2; }

[ -x "$BIN" ] || die "no gateway binary at $BIN (run make, or set REDRESS_BIN)"
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (apt-get install nodejs npm)"
command -v redis-server >/dev/null || die "redis-server not found (run make deps)"
command -v curl >/dev/null || die "curl not found (run make deps)"

if [ ! -x /usr/bin/chromium ]; then
	say "installing Debian's chromium"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
	say "npm ci (playwright-core, pinned in package-lock.json)"
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/redress-browser.XXXXXX")
REDIS_PID=
GW_PID=

# Stop what we started (only those pids), bounded; keep logs on failure.
cleanup() {
	for pid in $GW_PID $REDIS_PID; do
		kill "$pid" 2>/dev/null || continue
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
		kill -9 "$pid" 2>/dev/null || true
	done
	if [ "${KEEP_TMP:-}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ redis
RPORT=$(free_port)
REDIS_URL="redis://127.0.0.1:$RPORT/0"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
	--logfile "$TMP/redis.log" &
REDIS_PID=$!
n=0
until [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ]; do
	n=$((n + 1))
	[ $n -le $((STARTUP_S * 10)) ] || { tail -20 "$TMP/redis.log" >&2; die "redis-server not answering"; }
	sleep 0.1
done

# ------------------------------------------------------------------ gateway
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
cat >"$TMP/config.ini" <<EOF
[gateway]
listen = 127.0.0.1:$PORT
claim_idle_ms = 1000

[redis]
url = $REDIS_URL

[test_channel]
enabled = true
api_key = browser-test-key

[templates]
dir = $REPO/templates

[site]
public_url = $URL

[webchat]
enabled = true
assets_dir = $REPO/channels/webchat
EOF

"$BIN" orders import "$REPO/demo/orders.jsonl" --config "$TMP/config.ini" >&2 ||
	die "importing demo/orders.jsonl failed"
(cd "$TMP" && exec "$BIN" serve --config "$TMP/config.ini") >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
n=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/readyz")" = 200 ]; do
	n=$((n + 1))
	kill -0 "$GW_PID" 2>/dev/null || { tail -30 "$TMP/gateway.log" >&2; die "the gateway exited"; }
	[ $n -le $((STARTUP_S * 10)) ] || { tail -30 "$TMP/gateway.log" >&2; die "the gateway is not ready"; }
	sleep 0.1
done
say "gateway $URL, redis $REDIS_URL"

# ------------------------------------------------------------------ the spec
status=0
REDRESS_URL=$URL REDIS_URL=$REDIS_URL SCREENSHOT=${SCREENSHOT:-$REPO/build/webchat.png} \
	node "$HERE/webchat.spec.mjs" || status=$?
if [ $status -ne 0 ]; then
	say "gateway log (tail):"
	tail -40 "$TMP/gateway.log" >&2
fi
exit $status
