#include "gateway/routes.h"

#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/orders.h"
#include "channels/channel.h"
#include "gateway/bus.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"

static void healthz(void *ctx, struct http_exchange *ex)
{
	(void)ctx;
	http_respond(ex, 200, "text/plain", "ok\n", 3);
}

static void readyz(void *ctx, struct http_exchange *ex)
{
	(void)ctx;
	/* the store thread's Redis answers, pushes (replies) can reach us, and
	 * the orders store answers (ping answers from memory: never blocks) */
	const struct orders_store_ops *os = gw.orders;
	int orders_ok = !os || !os->ping || os->ping(gw.orders_ctx) == RD_OK;
	if (!orders_ok)
		http_respond(ex, 503, "text/plain", "orders store unavailable\n", 25);
	else if (atomic_load(&gw.redis_ok) && bus_ready() && !atomic_load(&gw.stopping))
		http_respond(ex, 200, "text/plain", "ready\n", 6);
	else
		http_respond(ex, 503, "text/plain", "redis unavailable\n", 18);
}

static void metrics(void *ctx, struct http_exchange *ex)
{
	(void)ctx;
	size_t len;
	char *text = metrics_render(&len);
	if (!text) {
		http_respond_error(ex, 500, "out of memory");
		return;
	}
	http_respond(ex, 200, "text/plain; version=0.0.4", text, len);
	free(text);
}

json_t *conversation_json(redisContext *rc, const char *cid, enum rd_err *err)
{
	return agent_conversation_json(rc, cid, err);
}

struct conv_job {
	char cid[MODEL_ID_LEN];
	json_t *result;
	enum rd_err err;
};

static void conv_run(redisContext *rc, void *arg)
{
	struct conv_job *j = arg;
	if (!rc) {
		j->err = RD_EREDIS;
		return;
	}
	j->result = conversation_json(rc, j->cid, &j->err);
}

static void conv_done(struct http_exchange *ex, void *arg)
{
	struct conv_job *j = arg;
	if (ex) {
		if (j->err)
			http_respond_error(ex, 503, "storage unavailable, retry later");
		else if (!j->result)
			http_respond_error(ex, 404, "no such conversation");
		else
			http_respond_json(ex, 200, j->result), j->result = NULL;
	}
	json_decref(j->result);
	free(j);
}

static void conversation(void *ctx, struct http_exchange *ex)
{
	(void)ctx;
	static const char prefix[] = "/v1/conversations/";
	const char *cid = http_path(ex) + sizeof prefix - 1;
	if (!gw.cfg->test_channel.enabled || !testchan_authorized(gw.cfg, ex)) {
		http_respond_error(ex, 401, "missing or wrong bearer key");
		return;
	}
	if (!*cid || strlen(cid) >= MODEL_ID_LEN) {
		http_respond_error(ex, 404, "no such conversation");
		return;
	}
	struct conv_job *j = calloc(1, sizeof *j);
	if (!j) {
		http_respond_error(ex, 503, "out of memory");
		return;
	}
	memcpy(j->cid, cid, strlen(cid) + 1);
	http_submit(ex, conv_run, conv_done, j);
}

size_t routes_gateway(struct http_route *out, size_t max)
{
	const struct http_route r[] = {
		{ "GET", "/healthz", 0, healthz, NULL },
		{ "GET", "/readyz", 0, readyz, NULL },
		{ "GET", "/metrics", 0, metrics, NULL },
		{ "GET", "/v1/conversations/", 1, conversation, NULL },
	};
	size_t n = RD_ARRAY_LEN(r) < max ? RD_ARRAY_LEN(r) : max;
	memcpy(out, r, n * sizeof *r);
	return n;
}
