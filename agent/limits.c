/* limits.c — per-customer message budgets in Redis (limits.h). */
#include "agent/limits.h"

#include <stdio.h>
#include <string.h>

#include "agent/rscript.h"

/* KEYS[1] the window: a set of the message ids it counted, expiring with it
 * KEYS[2] the id of the message that got this window's polite reply
 * KEYS[3] the caller's guard (its lock on the conversation)
 * ARGV[1] message id  [2] budget  [3] window, ms  [4] the guard's value when held
 * Returns {over 0|1, notify 0|1}, or "not_held" (nothing counted) when the
 * guard is not held. A counted id stays within (a replay); the set never
 * holds more than the budget. */
static struct rscript count_script = {
	.name = "limits_customer",
	.src = "if redis.call('GET', KEYS[3]) ~= ARGV[4] then return 'not_held' end\n"
	"if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {0, 0} end\n"
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

/* One count's KEYS and ARGV. */
struct count_call {
	char kwin[RSCRIPT_KEY_MAX], ktold[RSCRIPT_KEY_MAX], budget[16], window[16];
	const char *keys[3], *args[4];
};

/* Fill c for in; RD_ENOTFOUND when in is not counted (no budget, not a
 * customer's), RD_EINVAL when its ids make too long a key. */
static enum rd_err count_call(const struct message *in, int per_minute,
			      const struct limits_guard *g, struct count_call *c)
{
	enum rd_err e;
	if (per_minute <= 0 || !counted(in))
		return RD_ENOTFOUND;
	if ((e = rscript_key(c->kwin, sizeof c->kwin, "rd:limit:{%s:%s}", in->channel,
			     in->channel_user_id)) != RD_OK ||
	    (e = rscript_key(c->ktold, sizeof c->ktold, "rd:limit:{%s:%s}:told", in->channel,
			     in->channel_user_id)) != RD_OK)
		return e;
	snprintf(c->budget, sizeof c->budget, "%d", per_minute);
	snprintf(c->window, sizeof c->window, "%d", LIMITS_WINDOW_MS);
	c->keys[0] = c->kwin;
	c->keys[1] = c->ktold;
	c->keys[2] = g->key;
	c->args[0] = in->message_id;
	c->args[1] = c->budget;
	c->args[2] = c->window;
	c->args[3] = g->value;
	return RD_OK;
}

/* The script's reply {over, notify} as a verdict; borrows r. RD_EBUSY: the
 * guard was not held, nothing counted. */
static enum rd_err verdict(const redisReply *r, enum limit_verdict *out)
{
	long long over, notify;
	if (r->type == REDIS_REPLY_STRING && strcmp(r->str, "not_held") == 0)
		return RD_EBUSY;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    rscript_int(r->element[0], &over) != RD_OK || rscript_int(r->element[1], &notify) != RD_OK)
		return RD_EREDIS;
	*out = !over ? LIMIT_OK : notify ? LIMIT_OVER_NOTIFY : LIMIT_OVER;
	return RD_OK;
}

enum rd_err limits_customer(redisContext *rc, const struct message *in, int per_minute,
			    const struct limits_guard *g, enum limit_verdict *out)
{
	struct count_call c;
	redisReply *r = NULL;
	enum rd_err e;

	*out = LIMIT_OK;
	if ((e = count_call(in, per_minute, g, &c)) != RD_OK)
		return e == RD_ENOTFOUND ? RD_OK : e;
	if ((e = rscript_run(rc, &count_script, 3, c.keys, 4, c.args, &r)) != RD_OK)
		return e;
	e = verdict(r, out);
	freeReplyObject(r);
	return e;
}

int limits_customer_append(redisContext *rc, const struct message *in, int per_minute,
			   const struct limits_guard *g)
{
	struct count_call c;
	enum rd_err e = count_call(in, per_minute, g, &c);
	if (e == RD_ENOTFOUND)
		return 0;
	if (e != RD_OK || rscript_append_run(rc, &count_script, 3, c.keys, 4, c.args) != REDIS_OK)
		return -1;
	return 1;
}

enum rd_err limits_customer_read(redisContext *rc, enum limit_verdict *out)
{
	redisReply *r = NULL;
	enum rd_err e;

	*out = LIMIT_OK;
	if ((e = rscript_read(rc, &count_script, &r)) != RD_OK)
		return e;
	e = verdict(r, out);
	freeReplyObject(r);
	return e;
}
