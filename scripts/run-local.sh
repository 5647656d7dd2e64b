#!/bin/sh
# make run: a local redis (if none answers), the demo orders, then the gateway
# in the foreground. Env: REDRESS (binary, default build/redress),
# REDRESS_CONFIG (default ./config.ini); REDRESS_<SECTION>_<KEY> overrides
# are honoured for [redis] url, [gateway] listen and [test_channel] api_key.
set -eu

REDRESS=${REDRESS:-build/redress}
CONFIG=${REDRESS_CONFIG:-./config.ini}

die() { echo "run-local: $*" >&2; exit 1; }

# ini_get SECTION KEY: the value in $CONFIG, or nothing.
ini_get() {
	awk -v want_s="$1" -v want_k="$2" '
		/^[ \t]*[;#]/ { next }
		/^[ \t]*\[/ { s = $0; gsub(/^[ \t]*\[|\].*$/, "", s); next }
		s == want_s && index($0, "=") {
			k = substr($0, 1, index($0, "=") - 1); v = substr($0, index($0, "=") + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", k); sub(/[ \t]+;.*$/, "", v); gsub(/^[ \t]+|[ \t]+$/, "", v)
			if (k == want_k) { print v; exit }
		}' "$CONFIG"
}

[ -x "$REDRESS" ] || die "no gateway binary at $REDRESS (run make)"
[ -f "$CONFIG" ] || die "no config at $CONFIG (set REDRESS_CONFIG)"
command -v redis-cli >/dev/null || die "redis-cli not found (run make deps)"

url=${REDRESS_REDIS_URL:-$(ini_get redis url)}
url=${url:-redis://127.0.0.1:6379/0}
listen=${REDRESS_GATEWAY_LISTEN:-$(ini_get gateway listen)}
listen=${listen:-127.0.0.1:8080}
key=${REDRESS_TEST_CHANNEL_API_KEY:-$(ini_get test_channel api_key)}

pong() { [ "$(redis-cli -u "$url" ping 2>/dev/null)" = PONG ]; }

if ! pong; then
	case $url in
	redis://127.0.0.1:* | redis://localhost:* | redis://127.0.0.1/* | redis://localhost/* | redis://127.0.0.1 | redis://localhost) ;;
	*) die "redis at $url does not answer PING, and it is not local: start it, or change [redis] url in $CONFIG" ;;
	esac
	port=$(echo "$url" | sed -n 's|^redis://[^/:]*:\([0-9][0-9]*\).*|\1|p')
	port=${port:-6379}
	command -v redis-server >/dev/null || die "redis-server not found (run make deps)"
	mkdir -p var
	var=$(cd var && pwd)
	echo "run-local: starting redis-server on 127.0.0.1:$port (data and log in var/)" >&2
	redis-server --port "$port" --bind 127.0.0.1 --dir "$var" --appendonly yes \
		--daemonize yes --pidfile "$var/redis.pid" --logfile "$var/redis.log" ||
		die "redis-server did not start; see var/redis.log"
	tries=0
	until pong; do
		tries=$((tries + 1))
		[ "$tries" -le 50 ] || die "redis-server on port $port not answering PING after 5 s; see var/redis.log"
		sleep 0.1
	done
fi

"$REDRESS" orders import demo/orders.jsonl --config "$CONFIG" >&2 ||
	die "importing demo/orders.jsonl failed (see above)"

host=${listen%:*}
port=${listen##*:}
case $host in "" | 0.0.0.0 | "*") host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
echo "redress is up on http://$host:$port — try: curl -s -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' -d '{\"user\":\"marina\",\"text\":\"Oi, quero reembolso do pedido 8421\"}' http://$host:$port/v1/test/messages"

exec "$REDRESS" serve --config "$CONFIG"
