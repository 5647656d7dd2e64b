/* limits.c — per-customer message budgets in Redis (limits.h). */
#include "agent/limits.h"

#include <stdio.h>
#include <string.h>

#include "agent/rscript.h"

/* KEYS[1] the window: a set of the message ids it counted, expiring with it
 * KEYS[2] the id of the message that got this window's polite reply
 * ARGV[1] message id  [2] budget  [3] window, ms
 * Returns {over 0|1, notify 0|1}. A counted id stays within (a replay); the
 * set never holds more than the budget. */
static struct rscript count_script = {
	.name = "limits_customer",
	.src = "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {0, 0} end\n"
	"local n = redis.call('SCARD', KEYS[1])\n"
	"if n < tonumber(ARGV[2]) then\n"
	"  redis.call('SADD', KEYS[1], ARGV[1])\n"
	"  if n == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end\n"
	"  return {0, 0}\n"
	"end\n"
	"local told = redis.call('GET', KEYS[2])\n"
	"if not told then\n"
	"  local ttl = redis.call('PTTL', KEYS[1])\n"
	"  if ttl < 1 then ttl = tonumber(ARGV[3]) end\n"
	"  redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)\n"
	"  return {1, 1}\n"
	"end\n"
	"if told == ARGV[1] then return {1, 1} end\n"
	"return {1, 0}\n",
};

/* A customer's message: not the system's, not a reviewer's click. */
static int counted(const struct message *in)
{
	return strcmp(in->channel, "system") != 0 && strncmp(in->conversation_id, "review:", 7) != 0;
}

enum rd_err limits_customer(redisContext *rc, const struct message *in, int per_minute,
			    enum limit_verdict *out)
{
	char kwin[RSCRIPT_KEY_MAX], ktold[RSCRIPT_KEY_MAX], budget[16], window[16];
	redisReply *r = NULL;
	enum rd_err e;

	*out = LIMIT_OK;
	if (per_minute <= 0 || !counted(in))
		return RD_OK;
	if ((e = rscript_key(kwin, sizeof kwin, "rd:limit:{%s:%s}", in->channel,
			     in->channel_user_id)) != RD_OK ||
	    (e = rscript_key(ktold, sizeof ktold, "rd:limit:{%s:%s}:told", in->channel,
			     in->channel_user_id)) != RD_OK)
		return e;
	snprintf(budget, sizeof budget, "%d", per_minute);
	snprintf(window, sizeof window, "%d", LIMITS_WINDOW_MS);
	const char *keys[] = { kwin, ktold };
	const char *args[] = { in->message_id, budget, window };
	if ((e = rscript_run(rc, &count_script, RD_ARRAY_LEN(keys), keys, RD_ARRAY_LEN(args), args,
			     &r)) != RD_OK)
		return e;
	long long over, notify;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    rscript_int(r->element[0], &over) != RD_OK || rscript_int(r->element[1], &notify) != RD_OK) {
		freeReplyObject(r);
		return RD_EREDIS;
	}
	freeReplyObject(r);
	*out = !over ? LIMIT_OK : notify ? LIMIT_OVER_NOTIFY : LIMIT_OVER;
	return RD_OK;
}
