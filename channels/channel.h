/* channel.h — the seam between the gateway and each channel (Janus
 * janus_transport style): a const table of operations per channel type,
 * per-instance state behind void *ctx. A channel turns its platform's wire
 * format into `struct message` (common/model.h) and `struct outbound` back
 * out; it never calls into agent/, and the agent never includes this. */
#ifndef RD_CHANNEL_H
#define RD_CHANNEL_H

#include <stddef.h>
#include <hiredis.h>

struct lws;
#include "common/model.h"
#include "common/rd.h"
#include "gateway/config.h"
#include "gateway/http.h"
#include "common/httpc.h"

/* What a worker or sender thread lends a channel's calls. */
struct send_env {
	redisContext *rc;     /* the thread's Redis connection (borrowed) */
	CURL *curl;           /* the thread's libcurl handle (borrowed), see common/httpc.h */
	const char *entry_id; /* the outbox entry being sent ("" for none): lets a channel
	                         remember which of its replies already went out */
};

struct channel_ops {
	const char *name;   /* "test", "whatsapp", … — matches message.channel */
	/* 1 when [section] enabled; a disabled channel is neither routed nor sent to. */
	int (*enabled)(const struct config *cfg);
	/* Build the instance from config (borrowed for the process lifetime). */
	enum rd_err (*init)(const struct config *cfg, void **ctx);
	void (*destroy)(void *ctx);
	/* Write up to max routes (each with .ctx = the instance); return how many. */
	size_t (*routes)(void *ctx, struct http_route *out, size_t max);
	/* Deliver one outbox entry on the channel. Runs on a sender thread and
	 * may block (libcurl). RD_OK: delivered; RD_EUNAVAIL: retry later with
	 * backoff (the entry stays pending); any other error: final, logged. */
	enum rd_err (*send)(void *ctx, const struct send_env *env, const struct outbound *ob);
	/* Optional, and then used instead of send: for a channel whose delivery
	 * is a write to Redis (the test channel's stored answer and push, the web
	 * chat's push). Queue that write on env->rc (pipelined, reading nothing)
	 * and add the number of commands to *queued. The sender has opened a
	 * MULTI and closes it with the entry's sequence mark and ack: delivery
	 * and ack go in one round trip and one transaction. RD_OK: delivered
	 * when the transaction commits; RD_EUNAVAIL: retry later; any other
	 * error: final, logged. On an error *queued still counts what went in
	 * (the sender discards the transaction). */
	enum rd_err (*send_queue)(void *ctx, const struct send_env *env, const struct outbound *ob,
				  int *queued);
	/* Optional: tell the platform the agent has started on msg (WhatsApp's
	 * blue ticks). Worker thread; best effort, errors are the channel's to log. */
	void (*mark_read)(void *ctx, const struct send_env *env, const struct message *msg);
};

extern const struct channel_ops testchan_ops;
extern const struct channel_ops whatsapp_ops;
extern const struct channel_ops slack_ops;
extern const struct channel_ops webchat_ops;
/* The web chat's WebSocket protocol (lws), and its push delivery (service thread). */
extern const struct lws_protocols webchat_protocol;
void webchat_deliver(const char *key, const char *payload, size_t len);
/* 1 when a WebSocket upgrade may go on: the web chat's path and an allowed Origin. */
int webchat_upgrade_ok(struct lws *wsi);
/* 1 when ex carries "Authorization: Bearer <[test_channel] api_key>"
 * (constant-time compare); the QA read routes use it too. */
int testchan_authorized(const struct config *cfg, struct http_exchange *ex);

/* Read a POST /v1/test/messages body (raw bytes; see testchan.c for its
 * fields and limits) into *m (zeroed first; the caller owns it after RD_OK:
 * message_free). A missing message_id gets a random "t-<hex>" one.
 * RD_EPROTO with reason set (malformed JSON, a missing or bad field: a 400),
 * RD_ENOMEM. */
enum rd_err testchan_parse(const char *body, size_t len, struct message *m, char *reason,
			   size_t reasonlen) RD_WUR;

/* Every channel type, NULL-terminated (registry.c). */
extern const struct channel_ops *const channel_registry[];

/* The enabled instance for a channel name, or NULL (after channels_init). */
const struct channel_ops *channel_find(const char *name, void **ctx);
enum rd_err channels_init(const struct config *cfg, char *err, size_t errlen) RD_WUR;
/* Routes of every enabled channel into out; returns the count. */
size_t channels_routes(struct http_route *out, size_t max);
void channels_destroy(void);

#endif
