/* webchat.c — the web chat channel: the embeddable bubble (widget.js) and
 * its WebSocket, protocol "redress.webchat.v1" on /webchat/ws (README "Web
 * chat" documents the frames).
 *
 * Sessions: the server hands out an opaque token (128 random bits) that the
 * widget keeps; Redis maps sha256(token) → a public session id, and the
 * conversation is "webchat:<public id>", so the token never appears in
 * transcripts, tickets or logs. A made-up or expired token gets a new
 * session, never someone else's conversation.
 *
 * Everything that touches Redis goes through the store thread (io.h): the
 * service loop never blocks. Replies come back as pushes on
 * "webchat:<public id>" (bus.h), so a worker in any gateway process reaches
 * the socket wherever it is. Replies produced while no socket was open are
 * in the history the next welcome carries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "channels/webchat_int.h"
#include "common/log.h"
#include "common/util.h"
#include "gateway/bus.h"
#include "gateway/io.h"
#include "gateway/iplimit.h"
#include "gateway/routes.h"

#define WC_PROTOCOL "redress.webchat.v1"
#define WC_PUB_HEX 16
#define WC_MAX_ASSET (512u << 10)
#define WC_SESSION_BUCKETS 256
#define WC_MAX_QUEUED 256        /* frames waiting for a slow socket */

struct wc {
	const struct config *cfg;
	char *widget;                /* channels/webchat/widget.js */
	size_t widget_len;
	char *page;                  /* channels/webchat/index.html */
	size_t page_len;
};

static struct wc *the_wc;        /* the ws protocol has no ctx of its own */

struct frame {
	struct frame *next;
	size_t len;
	unsigned char buf[];         /* LWS_PRE + len */
};

/* One socket; outlives lws's per-session data while store jobs are out. */
struct wc_conn {
	struct lws *wsi;             /* NULL once closed */
	int pending;                 /* store jobs holding it */
	char pub[WC_PUB_HEX + 1];    /* public session id, "" before the welcome */
	char locale[MODEL_LOCALE_LEN];
	char *rx;                    /* the frame being received */
	size_t rx_len;
	int rx_toobig;
	struct frame *txq, *txq_tail;
	size_t queued;
	struct wc_conn *next;        /* session table chain */
	char addr[IPLIMIT_ADDR_LEN]; /* the peer's IP address, for [limits] ip_requests_per_minute */
	int closing;                 /* close once the queued frames are written */
};

struct wc_pss {
	struct wc_conn *conn;
};

static struct wc_conn *sessions[WC_SESSION_BUCKETS];

static unsigned bucket(const char *pub)
{
	unsigned h = 5381;
	while (*pub)
		h = h * 33 + (unsigned char)*pub++;
	return h % WC_SESSION_BUCKETS;
}

static void session_add(struct wc_conn *c)
{
	unsigned b = bucket(c->pub);
	c->next = sessions[b];
	sessions[b] = c;
}

static void session_remove(struct wc_conn *c)
{
	if (!c->pub[0])
		return;
	struct wc_conn **pp = &sessions[bucket(c->pub)];
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
}

static void conn_free(struct wc_conn *c)
{
	while (c->txq) {
		struct frame *f = c->txq;
		c->txq = f->next;
		free(f);
	}
	free(c->rx);
	free(c);
}

/* Queue a text frame (copied) and ask lws for a writable callback. */
static void send_text(struct wc_conn *c, const char *text, size_t len)
{
	if (!c->wsi || c->queued >= WC_MAX_QUEUED)
		return;
	struct frame *f = malloc(sizeof *f + LWS_PRE + len);
	if (!f)
		return;
	f->next = NULL;
	f->len = len;
	memcpy(f->buf + LWS_PRE, text, len);
	if (c->txq_tail)
		c->txq_tail->next = f;
	else
		c->txq = f;
	c->txq_tail = f;
	c->queued++;
	lws_callback_on_writable(c->wsi);
}

static void send_json(struct wc_conn *c, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s)
		send_text(c, s, strlen(s));
	free(s);
}

static void send_error(struct wc_conn *c, const char *code, const char *reason)
{
	send_json(c, json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "reason", reason));
}

/* ---- hello: find or make the session, send the history (store thread) ---- */

struct hello_job {
	struct io_job job;           /* first */
	struct wc_conn *conn;
	char token[WC_TOKEN_HEX + 1];
	char pub[WC_PUB_HEX + 1];
	int ttl_s;
	json_t *history;
	enum rd_err err;
};

static int is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static void hello_run(redisContext *rc, void *arg)
{
	struct hello_job *h = arg;
	char th[65], cid[64];
	h->err = RD_EREDIS;
	if (!rc)
		return;
	if (h->token[0]) {
		sha256_hex(h->token, strlen(h->token), th);
		redisReply *r = redisCommand(rc, "GET rd:webchat:token:%s", th);
		if (!r)
			return;
		if (r->type == REDIS_REPLY_STRING && is_hex(r->str, WC_PUB_HEX))
			memcpy(h->pub, r->str, WC_PUB_HEX + 1);
		freeReplyObject(r);
	}
	if (!h->pub[0]) { /* no token, or one we do not know: a new session */
		if (random_hex(WC_TOKEN_HEX / 2, h->token) != RD_OK ||
		    random_hex(WC_PUB_HEX / 2, h->pub) != RD_OK)
			return;
		sha256_hex(h->token, strlen(h->token), th);
	}
	redisReply *r = redisCommand(rc, "SET rd:webchat:token:%s %s EX %d", th, h->pub, h->ttl_s);
	if (!r || r->type != REDIS_REPLY_STATUS) {
		if (r)
			freeReplyObject(r);
		return;
	}
	freeReplyObject(r);
	snprintf(cid, sizeof cid, "webchat:%s", h->pub);
	enum rd_err err;
	json_t *conv = conversation_json(rc, cid, &err);
	if (err)
		return;
	h->history = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(conv, "transcript"), i, e) {
		const char *dir = json_string_value(json_object_get(e, "dir"));
		const char *text = json_string_value(json_object_get(e, "text"));
		const char *kind = json_string_value(json_object_get(e, "kind"));
		if (!dir || !text || (kind && strcmp(kind, "button") == 0))
			continue; /* a button press shows as the reply it got */
		json_array_append_new(h->history, json_pack("{s:s, s:s, s:O?}", "dir", dir, "text", text,
							     "ts", json_object_get(e, "ts")));
	}
	json_decref(conv);
	h->err = RD_OK;
}

static void hello_done(struct io_job *job)
{
	struct hello_job *h = (struct hello_job *)job;
	struct wc_conn *c = h->conn;
	c->pending--;
	if (c->wsi) {
		if (h->err) {
			send_error(c, "unavailable", "storage unavailable, reconnect later");
		} else {
			memcpy(c->pub, h->pub, sizeof c->pub);
			session_add(c);
			send_json(c, json_pack("{s:s, s:s, s:o}", "type", "welcome", "session", h->token,
					       "history", h->history ? h->history : json_array()));
			h->history = NULL;
		}
	}
	json_decref(h->history);
	if (!c->wsi && !c->pending)
		conn_free(c);
	free(h);
}

/* ---- messages ---- */

struct ingest_job {
	struct io_job job;           /* first */
	struct wc_conn *conn;
	char id[MODEL_ID_LEN];
};

static void ingest_done(struct io_job *job)
{
	struct ingest_job *j = (struct ingest_job *)job;
	struct wc_conn *c = j->conn;
	c->pending--;
	if (c->wsi) {
		if (job->err) {
			send_error(c, "unavailable", "not stored: send it again");
		} else {
			send_json(c, json_pack("{s:s, s:s}", "type", "ack", "id", j->id));
			if (job->n_new) /* the agent is on it */
				send_json(c, json_pack("{s:s}", "type", "typing"));
		}
	}
	io_job_clear(job);
	if (!c->wsi && !c->pending)
		conn_free(c);
	free(j);
}

/* One more connect or store-bound frame from c's address within [limits]
 * ip_requests_per_minute (gateway/iplimit.h)? Otherwise c gets a
 * "rate_limited" error frame the widget shows; with close_after the socket
 * is closed once it is written (the widget reconnects with backoff). A
 * customer's own budget is counted by the agent (agent/limits.h). */
static int ip_ok(struct wc_conn *c, int close_after)
{
	int wait = iplimit_hit(IPLIMIT_WEBCHAT, c->addr, the_wc->cfg->limits.ip_requests_per_minute,
			       mono_ms());
	if (!wait)
		return 1;
	char reason[128];
	snprintf(reason, sizeof reason, "too many messages from your network: please wait %d s and "
		 "try again", wait);
	send_error(c, "rate_limited", reason);
	if (close_after)
		c->closing = 1;
	return 0;
}

void webchat_parse_frame(json_t *o, struct wc_frame *f)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	memset(f, 0, sizeof *f);
	if (!type) {
		f->reason = "every frame needs a type";
		return;
	}
	if (strcmp(type, "hello") == 0) {
		const char *tok = json_string_value(json_object_get(o, "session"));
		const char *loc = json_string_value(json_object_get(o, "locale"));
		f->type = WC_FRAME_HELLO;
		if (tok && is_hex(tok, WC_TOKEN_HEX))
			memcpy(f->session, tok, WC_TOKEN_HEX + 1);
		if (loc && strlen(loc) < sizeof f->locale && strspn(loc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") == strlen(loc))
			snprintf(f->locale, sizeof f->locale, "%s", loc);
		return;
	}
	if (strcmp(type, "typing") == 0) {
		f->type = WC_FRAME_TYPING;
		return;
	}
	if (strcmp(type, "message") != 0 && strcmp(type, "button") != 0) {
		f->reason = "unknown frame type";
		return;
	}
	int is_button = strcmp(type, "button") == 0;
	f->type = is_button ? WC_FRAME_BUTTON : WC_FRAME_MESSAGE;
	f->id = json_string_value(json_object_get(o, "id"));
	f->text = json_string_value(json_object_get(o, "text"));
	f->button = json_string_value(json_object_get(o, "button"));
	if (!f->id || !f->id[0] || strlen(f->id) > 64 ||
	    (is_button ? !f->button || !f->button[0] || strlen(f->button) >= MODEL_BUTTON_ID_LEN
		       : !f->text || !f->text[0]))
		f->reason = is_button ? "a button needs id and button" : "a message needs id and text";
}

enum rd_err webchat_frame_message(const struct wc_frame *f, const char *pub, const char *locale,
				  struct message *m)
{
	int is_button = f->type == WC_FRAME_BUTTON;
	memset(m, 0, sizeof *m);
	if ((f->type != WC_FRAME_MESSAGE && !is_button) || f->reason)
		return RD_EINVAL;
	if (!is_button) {
		size_t n = strlen(f->text);
		if (n > MODEL_MAX_TEXT)
			n = MODEL_MAX_TEXT;
		if (!(m->text = malloc(n + 1)))
			return RD_ENOMEM;
		model_strlcpy(m->text, f->text, n + 1); /* cut at a UTF-8 boundary */
	}
	snprintf(m->channel, sizeof m->channel, "webchat");
	snprintf(m->channel_user_id, sizeof m->channel_user_id, "%s", pub);
	snprintf(m->conversation_id, sizeof m->conversation_id, "webchat:%s", pub);
	snprintf(m->message_id, sizeof m->message_id, "%s:%s", pub, f->id); /* resends dedupe */
	snprintf(m->locale, sizeof m->locale, "%s", locale);
	m->kind = is_button ? MSG_BUTTON : MSG_TEXT;
	if (is_button)
		snprintf(m->payload, sizeof m->payload, "%s", f->button);
	m->received_at_ms = now_ms();
	return RD_OK;
}

static void on_message(struct wc_conn *c, json_t *o)
{
	struct wc_frame f;
	webchat_parse_frame(o, &f);
	if (f.type == WC_FRAME_BAD) {
		send_error(c, "bad_frame", f.reason);
		return;
	}
	if (f.type == WC_FRAME_HELLO) {
		if (c->pub[0] || c->pending) {
			send_error(c, "bad_frame", "hello was already said");
			return;
		}
		if (!ip_ok(c, 1))
			return;
		struct hello_job *h = calloc(1, sizeof *h);
		if (!h)
			return;
		memcpy(h->token, f.session, sizeof h->token);
		if (f.locale[0])
			memcpy(c->locale, f.locale, sizeof c->locale);
		h->conn = c;
		h->ttl_s = the_wc->cfg->webchat.session_ttl_days * 86400;
		h->job.kind = IO_CALL;
		h->job.run = hello_run;
		h->job.arg = h;
		h->job.done = hello_done;
		c->pending++;
		io_submit(&h->job);
		return;
	}
	if (f.type == WC_FRAME_TYPING)
		return;
	if (!c->pub[0]) {
		send_error(c, "no_hello", "say hello first");
		return;
	}
	if (f.reason) {
		send_error(c, "bad_frame", f.reason);
		return;
	}
	if (!ip_ok(c, 0))
		return;
	struct ingest_job *j = calloc(1, sizeof *j);
	struct message *m = calloc(1, sizeof *m);
	if (!j || !m || webchat_frame_message(&f, c->pub, c->locale, m) != RD_OK) {
		free(j);
		free(m);
		return;
	}
	snprintf(j->id, sizeof j->id, "%s", f.id);
	j->conn = c;
	j->job.kind = IO_INGEST;
	j->job.msgs = m;
	j->job.n = 1;
	j->job.done = ingest_done;
	c->pending++;
	io_submit(&j->job);
}

static int origin_ok(struct lws *wsi)
{
	char origin[256];
	const struct config *cfg = the_wc->cfg;
	if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
		return 0;
	if (strcmp(origin, cfg->site.public_url) == 0)
		return 1;
	for (size_t i = 0; i < cfg->webchat.n_allowed_origins; i++)
		if (strcmp(cfg->webchat.allowed_origins[i], "*") == 0 ||
		    strcmp(cfg->webchat.allowed_origins[i], origin) == 0)
			return 1;
	return 0;
}

int webchat_upgrade_ok(struct lws *wsi)
{
	char uri[64];
	if (!the_wc || lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, "/webchat/ws") != 0)
		return 0;
	if (!origin_ok(wsi)) {
		LOG_W("webchat", "origin_refused", "a socket from an origin not in [webchat] allowed_origins");
		return 0;
	}
	return 1;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct wc_pss *pss = user;
	struct wc_conn *c = pss ? pss->conn : NULL;
	char uri[64];
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/webchat/ws") != 0)
			return 1;
		if (!origin_ok(wsi)) {
			LOG_W("webchat", "origin_refused", "a socket from an origin not in [webchat] allowed_origins");
			return 1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		pss->conn = calloc(1, sizeof *pss->conn);
		if (!pss->conn)
			return -1;
		pss->conn->wsi = wsi;
		lws_get_peer_simple(wsi, pss->conn->addr, sizeof pss->conn->addr);
		ip_ok(pss->conn, 1); /* over: an error frame, then the socket closes */
		return 0;
	case LWS_CALLBACK_RECEIVE: {
		size_t cap = (size_t)the_wc->cfg->webchat.max_message_bytes;
		if (!c)
			return -1;
		if (c->closing)
			return 0; /* refused: nothing more is read */
		if (!c->rx_toobig && c->rx_len + len > cap) {
			c->rx_toobig = 1;
		} else if (!c->rx_toobig && len) {
			char *b = realloc(c->rx, c->rx_len + len + 1);
			if (!b)
				return -1;
			c->rx = b;
			memcpy(c->rx + c->rx_len, in, len);
			c->rx_len += len;
			c->rx[c->rx_len] = '\0';
		}
		if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
			return 0;
		if (c->rx_toobig) {
			send_error(c, "too_large", "frames are limited to [webchat] max_message_bytes");
		} else {
			json_t *o = json_loadb(c->rx ? c->rx : "", c->rx_len, JSON_REJECT_DUPLICATES, NULL);
			if (json_is_object(o))
				on_message(c, o);
			else
				send_error(c, "bad_frame", "frames are JSON objects");
			json_decref(o);
		}
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
		c->rx_toobig = 0;
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		if (!c)
			return 0;
		if (!c->txq && c->closing) {
			static const char why[] = "try again later";
			lws_close_reason(wsi, (enum lws_close_status)1013, (unsigned char *)why,
					 sizeof why - 1); /* RFC 6455 1013: Try Again Later */
			return -1;
		}
		if (!c->txq)
			return 0;
		struct frame *f = c->txq;
		c->txq = f->next;
		if (!c->txq)
			c->txq_tail = NULL;
		c->queued--;
		int w = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
		free(f);
		if (w < 0)
			return -1;
		if (c->txq || c->closing)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLOSED:
		if (!c)
			return 0;
		pss->conn = NULL;
		session_remove(c);
		c->wsi = NULL;
		if (!c->pending)
			conn_free(c);
		return 0;
	default:
		return 0;
	}
}

/* rx_buffer_size: lws gives every socket a receive buffer this big for its
 * whole life, so it is what an idle session costs; frames larger than it
 * arrive in pieces (RECEIVE accumulates them, up to max_message_bytes).
 * tx_packet_size: a frame we send goes out in one write up to this size. */
#define WC_RX_BUFFER 512
#define WC_TX_PACKET 4096

const struct lws_protocols webchat_protocol = {
	WC_PROTOCOL, ws_callback, sizeof(struct wc_pss), WC_RX_BUFFER, 0, NULL, WC_TX_PACKET,
};

void webchat_deliver(const char *key, const char *payload, size_t len)
{
	/* key "webchat:<pub>", payload: a JSON array of frames */
	const char *pub = key + 8;
	json_t *frames = json_loadb(payload, len, 0, NULL);
	for (struct wc_conn *c = sessions[bucket(pub)]; c; c = c->next) {
		if (strcmp(c->pub, pub) != 0)
			continue;
		size_t i;
		json_t *f;
		json_array_foreach(frames, i, f) {
			char *s = json_dumps(f, JSON_COMPACT);
			if (s)
				send_text(c, s, strlen(s));
			free(s);
		}
	}
	json_decref(frames);
}

/* ---- the channel ---- */

static int wc_enabled(const struct config *cfg)
{
	return cfg->webchat.enabled;
}

static char *load_asset(const char *dir, const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(WC_MAX_ASSET);
	size_t n = buf ? fread(buf, 1, WC_MAX_ASSET, f) : 0;
	fclose(f);
	*len = n;
	return buf;
}

static enum rd_err wc_init(const struct config *cfg, void **ctx)
{
	struct wc *w = calloc(1, sizeof *w);
	if (!w)
		return RD_ENOMEM;
	w->cfg = cfg;
	w->widget = load_asset(cfg->webchat.assets_dir, "widget.js", &w->widget_len);
	w->page = load_asset(cfg->webchat.assets_dir, "index.html", &w->page_len);
	if (!w->widget || !w->page) {
		LOG_E("webchat", "no_assets", "cannot read widget.js and index.html in %s",
		      cfg->webchat.assets_dir);
		free(w->widget);
		free(w->page);
		free(w);
		return RD_ECONFIG;
	}
	the_wc = w;
	*ctx = w;
	return RD_OK;
}

static void wc_destroy(void *ctx)
{
	struct wc *w = ctx;
	free(w->widget);
	free(w->page);
	free(w);
	the_wc = NULL;
}

static void serve_widget(void *ctx, struct http_exchange *ex)
{
	struct wc *w = ctx;
	http_set_header(ex, "cache-control", "public, max-age=300");
	http_respond(ex, 200, "application/javascript; charset=utf-8", w->widget, w->widget_len);
}

static void serve_page(void *ctx, struct http_exchange *ex)
{
	struct wc *w = ctx;
	http_set_header(ex, "cache-control", "no-cache");
	http_respond(ex, 200, "text/html; charset=utf-8", w->page, w->page_len);
}

static size_t wc_routes(void *ctx, struct http_route *out, size_t max)
{
	if (max < 2)
		return 0;
	out[0] = (struct http_route){ "GET", "/webchat/widget.js", 0, serve_widget, ctx };
	out[1] = (struct http_route){ "GET", "/webchat/", 0, serve_page, ctx };
	return 2;
}

/* Deliver replies to whichever process holds the session's socket: the
 * push is queued in the sender's transaction (channel.h send_queue). */
static enum rd_err wc_send_queue(void *ctx, const struct send_env *env, const struct outbound *ob,
				 int *queued)
{
	(void)ctx;
	char key[MODEL_ID_LEN + 16];
	if (strncmp(ob->conversation_id, "webchat:", 8) != 0 || !ob->n_replies)
		return RD_OK;
	json_t *frames = json_array();
	for (int i = 0; i < ob->n_replies; i++) {
		char id[160];
		snprintf(id, sizeof id, "%s:%d", env->entry_id, i);
		json_t *bs = json_array();
		for (int b = 0; b < ob->replies[i].n_buttons; b++)
			json_array_append_new(bs, json_pack("{s:s, s:s}", "id", ob->replies[i].buttons[b].id,
							   "title", ob->replies[i].buttons[b].title));
		json_array_append_new(frames, json_pack("{s:s, s:s, s:s, s:o}", "type", "reply", "id", id, "text",
							ob->replies[i].text ? ob->replies[i].text : "",
							"buttons", bs));
	}
	char *payload = json_dumps(frames, JSON_COMPACT);
	json_decref(frames);
	if (!payload)
		return RD_EUNAVAIL;
	snprintf(key, sizeof key, "%s", ob->conversation_id); /* "webchat:<pub>" */
	enum rd_err err = bus_publish_append(env->rc, key, payload, strlen(payload));
	free(payload);
	if (err)
		return RD_EUNAVAIL;
	++*queued;
	return RD_OK;
}

const struct channel_ops webchat_ops = {
	.name = "webchat",
	.enabled = wc_enabled,
	.init = wc_init,
	.destroy = wc_destroy,
	.routes = wc_routes,
	.send_queue = wc_send_queue,
};
