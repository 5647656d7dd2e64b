/* orders_redis.c — the `redis` orders store (orders.h): rd:order:{ID} hash
 * (doc, total, refunded) and rd:order:{ID}:refunds, the set of our refund ids
 * already counted. `refunded` in the hash is the authority after import; the
 * copy inside doc is what was imported. */
#include "agent/orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/rscript.h"
#include "common/log.h"
#include "common/util.h"

#define ORDERS_REFUND_ID_MAX 256

/* KEYS[1] rd:order:{ID}; ARGV doc, total, imported refunded.
 * Keeps the larger of the stored and the imported refunded. Returns it. */
static struct rscript put_script = {
	.name = "orders_put",
	.src = "local stored = redis.call('HGET', KEYS[1], 'refunded')\n"
	"local refunded = ARGV[3]\n"
	"if stored and (tonumber(stored) or 0) > tonumber(ARGV[3]) then refunded = stored end\n"
	"redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'total', ARGV[2], 'refunded', refunded)\n"
	"return refunded\n",
};

/* KEYS[1] rd:order:{ID}  KEYS[2] rd:order:{ID}:refunds; ARGV refund_id, amount.
 * Returns 1 counted now, 0 already counted, -1 would exceed total (nothing
 * written), -2 no such order. */
static struct rscript record_script = {
	.name = "orders_record_refund",
	.src = "if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end\n"
	"local h = redis.call('HMGET', KEYS[1], 'total', 'refunded')\n"
	"if not h[1] then return -2 end\n"
	"local refunded = tonumber(h[2] or '0') or 0\n"
	"if tonumber(ARGV[2]) > (tonumber(h[1]) or 0) - refunded then return -1 end\n"
	"redis.call('SADD', KEYS[2], ARGV[1])\n"
	"redis.call('HINCRBY', KEYS[1], 'refunded', ARGV[2])\n"
	"return 1\n",
};

static enum rd_err order_key(char *buf, size_t n, const char *id, const char *suffix)
{
	if (!id || !id[0] || strlen(id) >= ORDER_ID_LEN)
		return RD_EINVAL;
	return rscript_key(buf, n, "rd:order:%s%s", id, suffix);
}

/* Fill *out from rd:order:{id}. RD_ENOTFOUND, RD_EUNAVAIL (Redis), RD_EPROTO
 * (a stored document that no longer validates: logged). */
static enum rd_err redis_lookup(void *ctx, redisContext *rc, const char *id, struct order *out)
{
	char key[RSCRIPT_KEY_MAX], err[256];
	redisReply *r = NULL;
	json_t *doc = NULL;
	json_error_t jerr;
	long long refunded;
	enum rd_err e = RD_OK;

	(void)ctx;
	if (order_key(key, sizeof key, id, "") != RD_OK)
		return RD_ENOTFOUND; /* no order can have such an id */
	const char *hmget[] = { "HMGET", key, "doc", "refunded" };
	if (rscript_cmd(rc, RD_ARRAY_LEN(hmget), hmget, &r) != RD_OK)
		return RD_EUNAVAIL;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		e = RD_EUNAVAIL;
		goto out;
	}
	if (r->element[0]->type == REDIS_REPLY_NIL) {
		e = RD_ENOTFOUND;
		goto out;
	}
	if (r->element[0]->type != REDIS_REPLY_STRING) {
		e = RD_EUNAVAIL;
		goto out;
	}
	doc = json_loadb(r->element[0]->str, r->element[0]->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		LOG_E("orders", "bad_stored_doc", "order doc is not JSON: %s (line %d col %d)",
		      jerr.text, jerr.line, jerr.column);
		e = RD_EPROTO;
		goto out;
	}
	/* Stored times are already RFC 3339, so now only matters for a doc
	 * written by hand with offsets. */
	if (order_from_json(doc, now_ms() / 1000, out, err, sizeof err) != RD_OK) {
		LOG_E("orders", "bad_stored_doc", "stored order fails validation: %s", err);
		e = RD_EPROTO;
		goto out;
	}
	if (strcmp(out->id, id) != 0) {
		LOG_E("orders", "bad_stored_doc", "stored doc has another order id");
		e = RD_EPROTO;
		goto out;
	}
	if (r->element[1]->type != REDIS_REPLY_NIL) {
		if (rscript_int(r->element[1], &refunded) != RD_OK || refunded < 0) {
			LOG_E("orders", "bad_refunded", "refunded is not a count of minor units");
			e = RD_EPROTO;
			goto out;
		}
		out->refunded = refunded;
	}
out:
	json_decref(doc);
	freeReplyObject(r);
	return e;
}

/* Count refund_id's amount once. RD_ELIMIT above total, RD_ENOTFOUND for no
 * such order, RD_EUNAVAIL when Redis cannot answer. */
static enum rd_err redis_record_refund(void *ctx, redisContext *rc, const char *order_id,
				       const char *refund_id, int64_t amount)
{
	char key[RSCRIPT_KEY_MAX], skey[RSCRIPT_KEY_MAX], amt[24];
	redisReply *r = NULL;
	long long res;
	enum rd_err e;

	(void)ctx;
	if (!refund_id || !refund_id[0] || strlen(refund_id) > ORDERS_REFUND_ID_MAX ||
	    amount <= 0 || amount > RSCRIPT_INT_MAX)
		return RD_EINVAL;
	if (order_key(key, sizeof key, order_id, "") != RD_OK ||
	    order_key(skey, sizeof skey, order_id, ":refunds") != RD_OK)
		return RD_ENOTFOUND;
	snprintf(amt, sizeof amt, "%lld", (long long)amount);
	const char *keys[] = { key, skey };
	const char *args[] = { refund_id, amt };
	if (rscript_run(rc, &record_script, 2, keys, 2, args, &r) != RD_OK)
		return RD_EUNAVAIL;
	if (rscript_int(r, &res) != RD_OK)
		e = RD_EUNAVAIL;
	else if (res == -1)
		e = RD_ELIMIT;
	else if (res == -2)
		e = RD_ENOTFOUND;
	else
		e = RD_OK;
	freeReplyObject(r);
	return e;
}

/* /readyz already checks Redis itself. */
static enum rd_err redis_ping(void *ctx)
{
	(void)ctx;
	return RD_OK;
}

const struct orders_store_ops orders_redis = {
	.name = "redis",
	.lookup = redis_lookup,
	.record_refund = redis_record_refund,
	.ping = redis_ping,
};

enum rd_err orders_redis_put(redisContext *rc, json_t *doc, const struct order *o)
{
	char key[RSCRIPT_KEY_MAX], total[24], refunded[24];
	redisReply *r = NULL;
	char *text;
	enum rd_err e;

	if (!doc || o->total < 0 || o->refunded < 0 || o->total > RSCRIPT_INT_MAX ||
	    o->refunded > RSCRIPT_INT_MAX)
		return RD_EINVAL;
	if ((e = order_key(key, sizeof key, o->id, "")) != RD_OK)
		return e;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return RD_ENOMEM;
	snprintf(total, sizeof total, "%lld", (long long)o->total);
	snprintf(refunded, sizeof refunded, "%lld", (long long)o->refunded);
	const char *keys[] = { key };
	const char *args[] = { text, total, refunded };
	e = rscript_run(rc, &put_script, 1, keys, 3, args, &r);
	free(text);
	if (e != RD_OK)
		return RD_EUNAVAIL;
	freeReplyObject(r);
	return RD_OK;
}
