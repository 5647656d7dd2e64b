#!/bin/sh
# bench/run.sh — what `make bench` runs: installs what the benchmarks need
# when it is missing (wrk and Node from apt, the peers from the npm registry
# with `npm ci` and the committed package-lock.json), then bench/bench.py.
# Arguments go to bench.py: `make bench BENCH_ARGS="--only whatsapp --runs 3"`.
# bench/README.md explains the scenarios; results land in bench/RESULTS.md.
set -eu
cd "$(dirname "$0")/.."
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

need=
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
if [ -n "$need" ]; then
	echo "bench: installing$need" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "bench: Node $major is too old for the peers (18 or later; @slack/bolt 5 asks for 20)" >&2
	exit 2
elif [ "$major" -lt 20 ]; then
	echo "bench: warning: @slack/bolt 5 asks for Node 20; this is Node $major" >&2
fi
# the peers, exactly as locked (reinstalled when the lock file changes)
if [ ! -f bench/peers/node_modules/.package-lock.json ] ||
   [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; then
	echo "bench: npm ci in bench/peers" >&2
	(cd bench/peers && npm ci --no-audit --no-fund --loglevel=error)
fi
exec /usr/bin/python3 bench/bench.py "$@"
