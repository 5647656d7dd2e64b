/* http.h — the HTTP side of the gateway on libwebsockets 4.1 (poll loop,
 * one service thread). Routes come from the channels and the gateway; a
 * handler runs on the service thread and must never block: Redis work goes
 * to the store thread through http_submit()/http_ingest(), and the answer is
 * written when it comes back.
 *
 * Handled here, once, for every route (../shared/NOTES-stack.md traps):
 * connect-and-close, Content-Length: 0, POST without Content-Length (411),
 * Transfer-Encoding: chunked (411, close), Expect: 100-continue (we write the
 * 100 ourselves), Upgrade: h2c on a request (hang up, never a 101), bodies in
 * ≤ 4080-byte chunks (accumulated up to [gateway] max_body_bytes, else 413),
 * per-session data reset on keep-alive. */
#ifndef RD_HTTP_H
#define RD_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis.h>
#include <jansson.h>
#include "common/model.h"
#include "common/rd.h"

struct http_exchange; /* one request/response; owned by the gateway */
struct lws_context;
struct lws_protocols;

typedef void (*http_handler_fn)(void *ctx, struct http_exchange *ex);

struct http_route {
	const char *method;       /* "GET", "POST" */
	const char *path;         /* exact path, or a prefix when prefix = 1 */
	int prefix;
	http_handler_fn handle;
	void *ctx;                /* borrowed, handed to handle */
};

/* ---- request (valid on the service thread while ex is alive) ---- */
const char *http_method(const struct http_exchange *ex);
const char *http_path(const struct http_exchange *ex);
/* Body bytes, NUL-terminated for convenience (the NUL is not counted). */
const char *http_body(const struct http_exchange *ex, size_t *len);
/* Copy header `name` (lower-case, no colon: "authorization") into buf.
 * Returns its length, or -1 when absent or longer than n - 1. */
int http_header(struct http_exchange *ex, const char *name, char *buf, size_t n);
/* Copy URL query argument `name` ("hub.mode") into buf (URL-decoded by
 * lws). Returns its length or -1. */
int http_query(struct http_exchange *ex, const char *name, char *buf, size_t n);
/* The client's IP address as text ("127.0.0.1", "::1") into buf[n] (the TCP
 * peer: behind a proxy, the proxy). Returns its length, or -1 when the
 * connection is gone or it does not fit (buf is then ""). */
int http_peer(struct http_exchange *ex, char *buf, size_t n);

/* An idle keep-alive connection is closed after this many seconds (lws
 * keepalive_timeout), and every keep-alive response says so in
 * "Keep-Alive: timeout=5". Either end may close an idle connection at any
 * time (RFC 9112 §9.8), so a client can send a request into a socket the
 * server is closing; clients that read the hint retire the connection a
 * little earlier instead (undici; Node's http.Agent only when it has a
 * timeout option: bench/NOTES.md, sixth round). */
#define HTTP_KEEPALIVE_S 5

/* ---- response (exactly once per exchange) ---- */
/* Copies body. ctype like "application/json". */
void http_respond(struct http_exchange *ex, int status, const char *ctype,
		  const char *body, size_t len);
/* Add a response header before http_respond (at most HTTP_MAX_EXTRA_HEADERS;
 * name lower-case without colon, both copied). */
#define HTTP_MAX_EXTRA_HEADERS 4
void http_set_header(struct http_exchange *ex, const char *name, const char *value);
/* Steals obj; serializes compactly. */
void http_respond_json(struct http_exchange *ex, int status, json_t *obj);
/* {"error": reason} with status. */
void http_respond_error(struct http_exchange *ex, int status, const char *reason);

/* ---- deferred work ---- */
/* run executes on the store thread with its Redis connection (may block;
 * rc is NULL when Redis is unreachable), then done runs on the service
 * thread. If the client went away meanwhile, done gets ex == NULL and must
 * only free arg. */
void http_submit(struct http_exchange *ex, void (*run)(redisContext *rc, void *arg),
		 void (*done)(struct http_exchange *ex, void *arg), void *arg);

struct ingest_result {
	enum rd_err err;          /* RD_OK when every message is durable (new or duplicate) */
	int n_new, n_dup;
	char *dup_reply;          /* for one-message ingests with a reply_key: the stored
	                             reply of the original, when it is a duplicate (owned by
	                             the result, freed after done returns) */
};

/* Dedupe each message on (channel, message_id) and append the new ones to
 * the inbound stream, atomically per message (one Lua script), pipelined.
 * Takes ownership of msgs (an array of n, freed with message_free + free).
 * reply_key (may be NULL) is read back for duplicates. done runs on the
 * service thread; ex is NULL if the client went away. */
void http_ingest(struct http_exchange *ex, struct message *msgs, size_t n, const char *reply_key,
		 void (*done)(struct http_exchange *ex, const struct ingest_result *r, void *arg),
		 void *arg);

/* Park ex until a push with this key arrives through the bus (another
 * thread or process published it with bus_publish) or timeout_ms passes:
 * on_push gets the payload, or NULL/0 on timeout. A push that arrived since
 * http_await_register() is delivered at once. */
void http_await_register(struct http_exchange *ex, const char *key);
void http_await(struct http_exchange *ex, int64_t timeout_ms,
		void (*on_push)(struct http_exchange *ex, const char *payload, size_t len, void *arg),
		void *arg);
/* Hand a push to whoever awaits its key (service thread; bus_start's deliver). */
void http_push_deliver(const char *key, const char *payload, size_t len);

/* ---- server ---- */
/* The lws protocol entry for HTTP (protocols[0]). */
extern const struct lws_protocols http_protocol;
/* Register routes (borrowed array, lives as long as the server). */
void http_set_routes(const struct http_route *routes, size_t n);
/* Service-thread entry points for the gateway's cross-thread wakeups. */
void http_on_wakeup(void);
/* Exchanges open right now (in flight or parked). */
int http_inflight(void);
/* While draining, new requests get 503 and Connection: close. */
void http_set_draining(int on);
void http_init(struct lws_context *ctx, size_t max_body_bytes);
/* Who may upgrade to a WebSocket: fn answers 1 to go on, 0 for a 403. With
 * no filter every upgrade is refused. */
struct lws;
void http_set_upgrade_filter(int (*fn)(struct lws *wsi));

#endif
