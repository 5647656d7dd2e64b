#include "gateway/http.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/bus.h"
#include "gateway/io.h"
#include "gateway/metrics.h"

#define HTTP_MAX_PATH 512
#define AWAIT_BUCKETS 256
/* Room left before an answer's body for its status line and headers, so
 * both go out in one send(): one syscall per answer instead of two (bench/
 * NOTES.md). */
#define HTTP_HDR_ROOM 512
/* A body must arrive within BASE plus one second per MIN_RATE bytes
 * (Apache mod_reqtimeout's body=…,MinRate=… idea): lws closes a silent
 * connection after 5 s, but restarts that clock on every byte, so a client
 * dribbling a byte every few seconds would hold its socket forever. */
#define HTTP_BODY_BASE_MS 10000
#define HTTP_BODY_MIN_RATE 8192           /* bytes per second */

/* One request and its answer. Created on LWS_CALLBACK_HTTP; freed when the
 * answer is written, or — if the client went away first — when the last
 * deferred job or await lets go of it (pending == 0). */
struct http_exchange {
	struct lws *wsi;                  /* NULL once the connection closed */
	char method[8];
	char path[HTTP_MAX_PATH];
	const struct http_route *route;
	char *body;                       /* owned, body_len + NUL */
	size_t body_len, body_cap;
	int64_t body_deadline_ms;         /* mono_ms() by which the body must be in */
	/* answer */
	int status;
	char ctype[64];
	unsigned char *resp;              /* owned, LWS_PRE headroom + body */
	size_t resp_len;
	int responded, close_after;
	char hdr_name[HTTP_MAX_EXTRA_HEADERS][32];
	char hdr_value[HTTP_MAX_EXTRA_HEADERS][128];
	int n_hdrs;
	/* deferred work */
	int pending;                      /* jobs/awaits holding ex */
	struct io_job job;
	void (*job_done)(struct http_exchange *, void *);
	void (*ingest_done)(struct http_exchange *, const struct ingest_result *, void *);
	void *job_arg;
	/* await */
	char *await_key;                  /* owned; set while registered */
	struct http_exchange *await_next; /* bucket chain */
	int awaiting;
	char *pushed;                     /* owned: a push that came before http_await */
	size_t pushed_len;
	lws_sorted_usec_list_t sul;
	void (*on_push)(struct http_exchange *, const char *, size_t, void *);
	void *push_arg;
};

/* per-connection data, allocated by lws; reset on every request */
struct pss {
	struct http_exchange *ex;
};

static struct lws_context *lws_ctx;
static const struct http_route *routes;
static size_t n_routes;
static size_t max_body;
static int draining;
static int live; /* exchanges alive */
static struct http_exchange *await_tab[AWAIT_BUCKETS];
static int (*upgrade_filter)(struct lws *wsi);

void http_set_upgrade_filter(int (*fn)(struct lws *wsi))
{
	upgrade_filter = fn;
}

void http_init(struct lws_context *ctx, size_t max_body_bytes)
{
	lws_ctx = ctx;
	max_body = max_body_bytes;
}

void http_set_routes(const struct http_route *r, size_t n)
{
	routes = r;
	n_routes = n;
}

void http_set_draining(int on) { draining = on; }
int http_inflight(void) { return live; }

const char *http_method(const struct http_exchange *ex) { return ex->method; }
const char *http_path(const struct http_exchange *ex) { return ex->path; }

const char *http_body(const struct http_exchange *ex, size_t *len)
{
	*len = ex->body_len;
	return ex->body ? ex->body : "";
}

/* ---- await table ---- */

static unsigned hash_key(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % AWAIT_BUCKETS;
}

static void await_unregister(struct http_exchange *ex)
{
	if (!ex->await_key)
		return;
	struct http_exchange **pp = &await_tab[hash_key(ex->await_key)];
	while (*pp && *pp != ex)
		pp = &(*pp)->await_next;
	if (*pp)
		*pp = ex->await_next;
	free(ex->await_key);
	ex->await_key = NULL;
}

void http_await_register(struct http_exchange *ex, const char *key)
{
	await_unregister(ex);
	ex->await_key = strdup(key);
	if (!ex->await_key)
		return;
	unsigned h = hash_key(key);
	ex->await_next = await_tab[h];
	await_tab[h] = ex;
}

static void ex_free(struct http_exchange *ex)
{
	await_unregister(ex);
	free(ex->body);
	free(ex->resp);
	free(ex->pushed);
	free(ex);
	live--;
}

static void await_finish(struct http_exchange *ex, const char *payload, size_t len)
{
	lws_sul_cancel(&ex->sul);
	ex->awaiting = 0;
	ex->pending--;
	await_unregister(ex);
	ex->on_push(ex, payload, len, ex->push_arg);
}

static void await_timeout(lws_sorted_usec_list_t *sul)
{
	struct http_exchange *ex = lws_container_of(sul, struct http_exchange, sul);
	await_finish(ex, NULL, 0);
}

void http_await(struct http_exchange *ex, int64_t timeout_ms,
		void (*on_push)(struct http_exchange *, const char *, size_t, void *), void *arg)
{
	ex->on_push = on_push;
	ex->push_arg = arg;
	ex->awaiting = 1;
	ex->pending++;
	if (ex->pushed) {
		char *p = ex->pushed;
		ex->pushed = NULL;
		await_finish(ex, p, ex->pushed_len);
		free(p);
		return;
	}
	lws_sul_schedule(lws_ctx, 0, &ex->sul, await_timeout, (lws_usec_t)timeout_ms * 1000);
}

void http_push_deliver(const char *key, const char *payload, size_t len)
{
	/* every exchange parked on the key gets it (a resend of a message that
	 * is still being answered waits on the same key as the original) */
	struct http_exchange *ex, *next;
	for (ex = await_tab[hash_key(key)]; ex; ex = next) {
		next = ex->await_next; /* await_finish unlinks ex only */
		if (strcmp(ex->await_key, key) != 0)
			continue;
		if (ex->awaiting) {
			await_finish(ex, payload, len);
		} else if (!ex->pushed) {
			ex->pushed = malloc(len + 1);
			if (ex->pushed) {
				memcpy(ex->pushed, payload, len);
				ex->pushed[len] = '\0';
				ex->pushed_len = len;
			}
		}
	}
}

/* ---- answers ---- */

void http_respond(struct http_exchange *ex, int status, const char *ctype, const char *body,
		  size_t len)
{
	if (ex->responded)
		return;
	ex->responded = 1;
	ex->status = status;
	snprintf(ex->ctype, sizeof ex->ctype, "%s", ctype);
	ex->resp = malloc(LWS_PRE + HTTP_HDR_ROOM + len + 1);
	if (!ex->resp) {
		ex->status = 503;
		len = 0;
		ex->close_after = 1;
	} else if (len) {
		memcpy(ex->resp + LWS_PRE + HTTP_HDR_ROOM, body, len);
	}
	ex->resp_len = len;
	if (status >= 500)
		metrics_error("http");
	lws_callback_on_writable(ex->wsi);
}

void http_set_header(struct http_exchange *ex, const char *name, const char *value)
{
	if (ex->n_hdrs == HTTP_MAX_EXTRA_HEADERS)
		return;
	snprintf(ex->hdr_name[ex->n_hdrs], sizeof ex->hdr_name[0], "%s:", name);
	snprintf(ex->hdr_value[ex->n_hdrs], sizeof ex->hdr_value[0], "%s", value);
	ex->n_hdrs++;
}

void http_respond_json(struct http_exchange *ex, int status, json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(obj);
	if (!s) {
		http_respond(ex, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
		return;
	}
	http_respond(ex, status, "application/json", s, strlen(s));
	free(s);
}

void http_respond_error(struct http_exchange *ex, int status, const char *reason)
{
	http_respond_json(ex, status, json_pack("{s:s}", "error", reason));
}

static void respond_close(struct http_exchange *ex, int status, const char *reason)
{
	ex->close_after = 1;
	http_respond_error(ex, status, reason);
}

/* ---- request accessors ---- */

static const struct { const char *name; enum lws_token_indexes tok; } known_headers[] = {
	{ "authorization", WSI_TOKEN_HTTP_AUTHORIZATION },
	{ "content-type", WSI_TOKEN_HTTP_CONTENT_TYPE },
	{ "content-length", WSI_TOKEN_HTTP_CONTENT_LENGTH },
	{ "origin", WSI_TOKEN_ORIGIN },
	{ "host", WSI_TOKEN_HOST },
	{ "accept", WSI_TOKEN_HTTP_ACCEPT },
	{ "user-agent", WSI_TOKEN_HTTP_USER_AGENT },
	{ "expect", WSI_TOKEN_HTTP_EXPECT },
	{ "transfer-encoding", WSI_TOKEN_HTTP_TRANSFER_ENCODING },
};

int http_header(struct http_exchange *ex, const char *name, char *buf, size_t n)
{
	if (!ex->wsi || n == 0 || n > 65536)
		return -1;
	for (size_t i = 0; i < RD_ARRAY_LEN(known_headers); i++) {
		if (strcmp(known_headers[i].name, name) != 0)
			continue;
		int len = lws_hdr_total_length(ex->wsi, known_headers[i].tok);
		if (len <= 0 || (size_t)len >= n)
			return -1;
		return lws_hdr_copy(ex->wsi, buf, (int)n, known_headers[i].tok);
	}
	char cname[128];
	int nlen = snprintf(cname, sizeof cname, "%s:", name);
	if (nlen <= 0 || (size_t)nlen >= sizeof cname)
		return -1;
	int len = lws_hdr_custom_length(ex->wsi, cname, nlen);
	if (len < 0 || (size_t)len >= n)
		return -1;
	return lws_hdr_custom_copy(ex->wsi, buf, (int)n, cname, nlen);
}

int http_query(struct http_exchange *ex, const char *name, char *buf, size_t n)
{
	char key[128];
	if (!ex->wsi || snprintf(key, sizeof key, "%s=", name) >= (int)sizeof key)
		return -1;
	const char *v = lws_get_urlarg_by_name(ex->wsi, key, buf, (int)n);
	if (!v)
		return -1;
	size_t len = strlen(v);
	memmove(buf, v, len + 1);
	return (int)len;
}

int http_peer(struct http_exchange *ex, char *buf, size_t n)
{
	if (n)
		buf[0] = '\0';
	if (!ex->wsi || n < 2 || !lws_get_peer_simple(ex->wsi, buf, n))
		return -1;
	return (int)strlen(buf);
}

/* ---- deferred work ---- */

static void job_finished(struct io_job *job)
{
	struct http_exchange *ex = lws_container_of(job, struct http_exchange, job);
	struct http_exchange *live_ex = ex->wsi ? ex : NULL;
	ex->pending--;
	if (job->kind == IO_INGEST) {
		struct ingest_result r = { job->err, job->n_new, job->n_dup, job->dup_reply };
		job->dup_reply = NULL;
		io_job_clear(job); /* before done: done may submit the next job */
		ex->ingest_done(live_ex, &r, ex->job_arg);
		free(r.dup_reply);
	} else {
		ex->job_done(live_ex, ex->job_arg);
	}
	if (!ex->wsi && !ex->pending)
		ex_free(ex);
}

void http_submit(struct http_exchange *ex, void (*run)(redisContext *, void *),
		 void (*done)(struct http_exchange *, void *), void *arg)
{
	memset(&ex->job, 0, sizeof ex->job);
	ex->job.kind = IO_CALL;
	ex->job.run = run;
	ex->job.arg = arg;
	ex->job.done = job_finished;
	ex->job_done = done;
	ex->job_arg = arg;
	ex->pending++;
	io_submit(&ex->job);
}

void http_ingest(struct http_exchange *ex, struct message *msgs, size_t n, const char *reply_key,
		 void (*done)(struct http_exchange *, const struct ingest_result *, void *), void *arg)
{
	memset(&ex->job, 0, sizeof ex->job);
	ex->job.kind = IO_INGEST;
	ex->job.msgs = msgs;
	ex->job.n = n;
	ex->job.reply_key = reply_key ? strdup(reply_key) : NULL;
	ex->job.done = job_finished;
	ex->ingest_done = done;
	ex->job_arg = arg;
	ex->pending++;
	io_submit(&ex->job);
}

void http_on_wakeup(void)
{
	io_poll_done();
	bus_poll();
}

/* ---- the lws protocol ---- */

static const struct http_route *find_route(const char *method, const char *path, int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < n_routes; i++) {
		const struct http_route *r = &routes[i];
		int match = r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0
				      : strcmp(path, r->path) == 0;
		if (!match)
			continue;
		*path_known = 1;
		if (strcmp(method, r->method) == 0)
			return r;
	}
	return NULL;
}

static void dispatch(struct http_exchange *ex)
{
	ex->route->handle(ex->route->ctx, ex);
	if (!ex->responded && !ex->pending) {
		LOG_E("http", "no_answer", "handler for %s %s neither answered nor deferred",
		      ex->method, ex->path);
		http_respond_error(ex, 500, "internal error");
	}
}

static const char *method_of(struct lws *wsi)
{
	static const struct { enum lws_token_indexes tok; const char *name; } m[] = {
		{ WSI_TOKEN_GET_URI, "GET" }, { WSI_TOKEN_POST_URI, "POST" },
		{ WSI_TOKEN_PUT_URI, "PUT" }, { WSI_TOKEN_PATCH_URI, "PATCH" },
		{ WSI_TOKEN_DELETE_URI, "DELETE" }, { WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
		{ WSI_TOKEN_HEAD_URI, "HEAD" },
	};
	for (size_t i = 0; i < RD_ARRAY_LEN(m); i++)
		if (lws_hdr_total_length(wsi, m[i].tok) > 0)
			return m[i].name;
	return "";
}

static int has_body_method(const char *m)
{
	return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

/* LWS_CALLBACK_HTTP: headers are in. Returns the lws callback result. */
static int on_request(struct lws *wsi, struct pss *pss, const char *uri, size_t urilen)
{
	struct http_exchange *ex = calloc(1, sizeof *ex);
	if (!ex)
		return -1;
	live++;
	ex->wsi = wsi;
	pss->ex = ex;
	snprintf(ex->method, sizeof ex->method, "%s", method_of(wsi));
	if (urilen >= sizeof ex->path) {
		respond_close(ex, 414, "URI too long");
		return 0;
	}
	memcpy(ex->path, uri, urilen);
	ex->path[urilen] = '\0';

	int with_body = has_body_method(ex->method);
	if (draining) {
		respond_close(ex, 503, "shutting down");
		return 0;
	}
	int path_known;
	ex->route = find_route(ex->method, ex->path, &path_known);
	if (!ex->route) {
		ex->close_after = with_body; /* the body is never read */
		http_respond_error(ex, path_known ? 405 : 404,
				   path_known ? "method not allowed" : "not found");
		return 0;
	}
	if (!with_body) {
		dispatch(ex);
		return 0;
	}
	/* lws 4.1 does not de-chunk, and gives no body without a length */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
		respond_close(ex, 411, "chunked bodies are not accepted: send Content-Length");
		return 0;
	}
	char cl[32];
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
	    lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
		respond_close(ex, 411, "Content-Length required");
		return 0;
	}
	char *end;
	unsigned long long want = strtoull(cl, &end, 10);
	if (*end || cl[0] == '-') {
		respond_close(ex, 400, "bad Content-Length");
		return 0;
	}
	if (want > max_body) {
		respond_close(ex, 413, "body too large");
		return 0;
	}
	ex->body_cap = (size_t)want + 1;
	ex->body = malloc(ex->body_cap);
	if (!ex->body) {
		respond_close(ex, 503, "out of memory");
		return 0;
	}
	ex->body[0] = '\0';
	ex->body_deadline_ms = mono_ms() + HTTP_BODY_BASE_MS + (int64_t)(want * 1000 / HTTP_BODY_MIN_RATE);
	char expect[32];
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_EXPECT) > 0 &&
	    lws_hdr_copy(wsi, expect, sizeof expect, WSI_TOKEN_HTTP_EXPECT) > 0 &&
	    strcasecmp(expect, "100-continue") == 0) {
		/* lws ignores Expect; without this, curl waits a second */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		unsigned char buf[LWS_PRE + sizeof cont];
		memcpy(buf + LWS_PRE, cont, sizeof cont - 1);
		if (lws_write(wsi, buf + LWS_PRE, sizeof cont - 1, LWS_WRITE_RAW) < 0)
			return -1;
	}
	if (want == 0) {
		dispatch(ex);
		ex->body_cap = 0; /* ignore the empty body chunk that may follow */
	}
	return 0;
}

static int on_body(struct http_exchange *ex, const void *in, size_t len)
{
	if (ex->responded || len == 0) /* Content-Length: 0 sends one empty chunk */
		return 0;
	if (ex->body_len + len >= ex->body_cap) {
		respond_close(ex, 413, "body larger than Content-Length");
		return 0;
	}
	if (mono_ms() > ex->body_deadline_ms) { /* a slow-body (slowloris) client */
		respond_close(ex, 408, "request body too slow");
		return 0;
	}
	memcpy(ex->body + ex->body_len, in, len);
	ex->body_len += len;
	ex->body[ex->body_len] = '\0';
	return 0;
}

static int on_writeable(struct lws *wsi, struct pss *pss)
{
	struct http_exchange *ex = pss->ex;
	if (!ex || !ex->responded)
		return 0;
	unsigned char hdr[LWS_PRE + HTTP_HDR_ROOM], *start = hdr + LWS_PRE, *p = start,
					  *end = hdr + sizeof hdr - 1;
	if (lws_add_http_common_headers(wsi, (unsigned)ex->status, ex->ctype, ex->resp_len, &p, end))
		return -1;
	if (ex->close_after &&
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
					 &p, end))
		return -1;
	if (!ex->close_after &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"keep-alive:",
					(const unsigned char *)"timeout=" RD_XSTR(HTTP_KEEPALIVE_S),
					(int)sizeof("timeout=" RD_XSTR(HTTP_KEEPALIVE_S)) - 1, &p, end))
		return -1;
	for (int i = 0; i < ex->n_hdrs; i++)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)ex->hdr_name[i],
						(const unsigned char *)ex->hdr_value[i],
						(int)strlen(ex->hdr_value[i]), &p, end))
			return -1;
	if (lws_finalize_http_header(wsi, &p, end))
		return -1;
	/* the headers go right before the body, and both out in one write */
	size_t hlen = (size_t)(p - start), total = hlen;
	unsigned char *out = start;
	if (ex->resp) {
		out = ex->resp + LWS_PRE + HTTP_HDR_ROOM - hlen;
		memcpy(out, start, hlen);
		total += ex->resp_len;
	}
	if (lws_write(wsi, out, total, LWS_WRITE_HTTP_HEADERS) != (int)total)
		return -1;
	int close_after = ex->close_after;
	pss->ex = NULL;
	ex->wsi = NULL;
	if (!ex->pending)
		ex_free(ex);
	if (close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void on_closed(struct pss *pss)
{
	struct http_exchange *ex = pss->ex;
	if (!ex)
		return;
	pss->ex = NULL;
	ex->wsi = NULL;
	if (ex->awaiting) {
		lws_sul_cancel(&ex->sul);
		ex->awaiting = 0;
		ex->pending--;
	}
	await_unregister(ex);
	if (!ex->pending)
		ex_free(ex);
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	struct pss *pss = user;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!pss)
			return -1;
		if (pss->ex) /* keep-alive: a leftover from the last request */
			on_closed(pss);
		return on_request(wsi, pss, in ? in : "/", in ? strlen(in) : 1);
	case LWS_CALLBACK_HTTP_BODY:
		if (!pss || !pss->ex)
			return -1;
		return on_body(pss->ex, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!pss || !pss->ex)
			return -1;
		if (!pss->ex->responded && !pss->ex->pending && pss->ex->body_cap)
			dispatch(pss->ex);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss)
			return -1;
		return on_writeable(wsi, pss);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss) /* NULL for a client that connected and closed at once */
			on_closed(pss);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* h2c on a request would answer 101 and lose the body: refuse
		 * with a 400 the client can act on; websocket upgrades go on */
		if (in && strcasecmp(in, "websocket") != 0) {
			lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
					       "upgrade to h2c is not supported: send HTTP/1.1");
			return 1;
		}
		if (!upgrade_filter || !upgrade_filter(wsi)) { /* a path or an Origin we refuse */
			/* written raw: lws would answer HTTP/1.0, which WebSocket
			 * clients (RFC 6455 wants 1.1) read as no answer at all */
			static const char forbidden[] = "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n"
							"content-length: 10\r\nconnection: close\r\n\r\nforbidden\n";
			unsigned char buf[LWS_PRE + sizeof forbidden];
			memcpy(buf + LWS_PRE, forbidden, sizeof forbidden - 1);
			lws_write(wsi, buf + LWS_PRE, sizeof forbidden - 1, LWS_WRITE_RAW);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		http_on_wakeup();
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols http_protocol = {
	"http", http_callback, sizeof(struct pss), 0, 0, NULL, 0,
};
