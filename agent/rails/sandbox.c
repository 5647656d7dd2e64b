/* sandbox.c — the built-in `sandbox` rail: pays nothing, records each refund
 * in Redis the way a provider would, atomically, so the whole refund flow
 * (idempotency, partial refunds, "amount_too_large") runs without a PSP.
 *
 * Redis: rd:sandbox:idem:{idempotency_key} → refund id;
 * rd:sandbox:paid:{payment_id} minor units refunded on that payment;
 * rd:sandbox:seq last refund number; rd:sandbox:refund:{id} hash (payment_id,
 * amount, currency, reason, idempotency_key, order_id, conversation_id,
 * status, created_at seconds); rd:sandbox:calls refund calls received
 * (replays included); rd:sandbox:refunds refunds actually created. The two
 * counters let tests prove "never called" and "paid once". */
#include "agent/rails.h"

#include <stdio.h>
#include <string.h>

#include "agent/rscript.h"
#include "common/log.h"
#include "common/util.h"

#define SANDBOX_ID_MAX 256   /* longest idempotency key / payment id / refund id */
#define SANDBOX_RETRIES 64   /* attempts when other refunds take the next number */

/* KEYS[1] idem  [2] paid  [3] seq  [4] calls  [5] refunds  [6] refund hash of
 * the id the caller expects to create (seq + 1).
 * ARGV[1] expected seq  [2] that id  [3] payment_total  [4] amount
 * [5] payment_id [6] currency [7] reason [8] idempotency_key [9] order_id
 * [10] conversation_id [11] created_at.
 * Returns {"replay", id} | {"retry", current seq} (nothing written) |
 * {"failed", reason} | {"succeeded", id}. */
static struct rscript refund_script = {
	.name = "sandbox_refund",
	.src = "local known = redis.call('GET', KEYS[1])\n"
	"if known then\n"
	"  redis.call('INCR', KEYS[4])\n"
	"  return {'replay', known}\n"
	"end\n"
	"local seq = tonumber(redis.call('GET', KEYS[3]) or '0')\n"
	"if seq ~= tonumber(ARGV[1]) then return {'retry', tostring(seq)} end\n"
	"if redis.call('EXISTS', KEYS[6]) == 1 then\n"
	"  return redis.error_reply('ERR sandbox refund ' .. ARGV[2] .. ' exists')\n"
	"end\n"
	"redis.call('INCR', KEYS[4])\n"
	"local paid = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if tonumber(ARGV[4]) > tonumber(ARGV[3]) - paid then\n"
	"  return {'failed', 'amount_too_large'}\n"
	"end\n"
	"redis.call('INCRBY', KEYS[2], ARGV[4])\n"
	"redis.call('INCR', KEYS[3])\n"
	"redis.call('HSET', KEYS[6], 'payment_id', ARGV[5], 'amount', ARGV[4],\n"
	"           'currency', ARGV[6], 'reason', ARGV[7], 'idempotency_key', ARGV[8],\n"
	"           'order_id', ARGV[9], 'conversation_id', ARGV[10],\n"
	"           'status', 'succeeded', 'created_at', ARGV[11])\n"
	"redis.call('SET', KEYS[1], ARGV[2])\n"
	"redis.call('INCR', KEYS[5])\n"
	"return {'succeeded', ARGV[2]}\n",
};

static int id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= SANDBOX_ID_MAX;
}

static enum rd_err unavailable(struct rail_refund_res *res)
{
	res->status = REFUND_PENDING;
	res->retryable = 1;
	return RD_EUNAVAIL;
}

static enum rd_err parse_status(const char *s, enum refund_status *out)
{
	if (strcmp(s, "succeeded") == 0)
		*out = REFUND_SUCCEEDED;
	else if (strcmp(s, "failed") == 0)
		*out = REFUND_FAILED;
	else if (strcmp(s, "pending") == 0)
		*out = REFUND_PENDING;
	else
		return RD_EPROTO;
	return RD_OK;
}

/* Status of a refund this rail created; RD_ENOTFOUND when there is none. */
static enum rd_err sandbox_status(void *ctx, redisContext *rc, const struct rail_refund_req *req,
				  const char *provider_refund_id, struct rail_refund_res *res)
{
	(void)req;
	char key[RSCRIPT_KEY_MAX], st[32];
	redisReply *r = NULL;
	enum rd_err err = RD_OK;

	(void)ctx;
	memset(res, 0, sizeof *res);
	if (!id_ok(provider_refund_id) ||
	    strlen(provider_refund_id) >= sizeof res->provider_refund_id ||
	    rscript_key(key, sizeof key, "rd:sandbox:refund:%s", provider_refund_id) != RD_OK)
		return RD_EINVAL;
	const char *hget[] = { "HGET", key, "status" };
	if (rscript_cmd(rc, RD_ARRAY_LEN(hget), hget, &r) != RD_OK)
		return unavailable(res);
	if (r->type == REDIS_REPLY_NIL)
		err = RD_ENOTFOUND;
	else if (rscript_str(r, st, sizeof st) != RD_OK || parse_status(st, &res->status) != RD_OK)
		err = unavailable(res);
	else
		snprintf(res->provider_refund_id, sizeof res->provider_refund_id, "%s",
			 provider_refund_id);
	freeReplyObject(r);
	return err;
}

/* Create the refund once per idempotency key (rails.h). */
static enum rd_err sandbox_refund(void *ctx, redisContext *rc, const struct rail_refund_req *req,
				  struct rail_refund_res *res)
{
	char kidem[RSCRIPT_KEY_MAX], kpaid[RSCRIPT_KEY_MAX], krefund[RSCRIPT_KEY_MAX];
	char id[64], sseq[24], total[24], amount[24], created[24], word[32];
	redisReply *r = NULL;
	long long seq;

	(void)ctx;
	memset(res, 0, sizeof *res);
	if (!id_ok(req->idempotency_key) || !id_ok(req->payment_id) || !req->currency ||
	    req->amount <= 0 || req->amount > RSCRIPT_INT_MAX || req->payment_total < 0 ||
	    rscript_key(kidem, sizeof kidem, "rd:sandbox:idem:%s", req->idempotency_key) ||
	    rscript_key(kpaid, sizeof kpaid, "rd:sandbox:paid:%s", req->payment_id))
		return RD_EINVAL;
	snprintf(total, sizeof total, "%lld",
		 req->payment_total > RSCRIPT_INT_MAX ? RSCRIPT_INT_MAX
						      : (long long)req->payment_total);
	snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
	snprintf(created, sizeof created, "%lld", (long long)(now_ms() / 1000));
	if (rscript_counter(rc, "rd:sandbox:seq", &seq) != RD_OK)
		return unavailable(res);

	for (int attempt = 0; attempt < SANDBOX_RETRIES; attempt++) {
		snprintf(sseq, sizeof sseq, "%lld", seq);
		snprintf(id, sizeof id, "re_sbx_%06lld", seq + 1);
		if (rscript_key(krefund, sizeof krefund, "rd:sandbox:refund:%s", id))
			return RD_EINVAL;
		const char *keys[] = { kidem, kpaid, "rd:sandbox:seq", "rd:sandbox:calls",
				       "rd:sandbox:refunds", krefund };
		const char *args[] = { sseq, id, total, amount, req->payment_id, req->currency,
				       req->reason, req->idempotency_key, req->order_id,
				       req->conversation_id, created };
		if (rscript_run(rc, &refund_script, RD_ARRAY_LEN(keys), keys, RD_ARRAY_LEN(args),
				args, &r) != RD_OK)
			return unavailable(res);
		int retry;
		enum rd_err e = rscript_numbered(r, word, sizeof word, NULL, 0, &seq, &retry);
		if (e != RD_OK || retry) {
			freeReplyObject(r);
			if (e != RD_OK)
				return unavailable(res);
			rscript_backoff(attempt);
			continue;
		}
		if (strcmp(word, "failed") == 0) {
			if (rscript_str(r->element[1], res->failure, sizeof res->failure) != RD_OK)
				snprintf(res->failure, sizeof res->failure, "failed");
			freeReplyObject(r);
			res->status = REFUND_FAILED;
			res->retryable = 0;
			return RD_OK;
		}
		if (rscript_str(r->element[1], res->provider_refund_id,
				sizeof res->provider_refund_id) != RD_OK) {
			freeReplyObject(r);
			return unavailable(res);
		}
		freeReplyObject(r);
		if (strcmp(word, "succeeded") == 0) {
			res->status = REFUND_SUCCEEDED;
			return RD_OK;
		}
		if (strcmp(word, "replay") != 0)
			return unavailable(res);
		/* Same key: the refund it made, as it stands now. */
		char pid[sizeof res->provider_refund_id];
		memcpy(pid, res->provider_refund_id, sizeof pid);
		enum rd_err err = sandbox_status(ctx, rc, req, pid, res);
		if (err == RD_ENOTFOUND) {
			LOG_E("sandbox", "idem_without_refund", "idempotency key maps to a missing refund");
			return unavailable(res);
		}
		return err;
	}
	LOG_W("sandbox", "seq_contention", "gave up after %d attempts", SANDBOX_RETRIES);
	return unavailable(res);
}

const struct rail_ops rail_sandbox = {
	.name = "sandbox",
	.refund = sandbox_refund,
	.status = sandbox_status,
};
