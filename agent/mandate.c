/* mandate.c — the spend mandate in Redis (mandate.h). Every decision that
 * moves a day total is one Lua script, so concurrent workers (threads or
 * processes) can never reserve past a cap between a read and a write. */
#include "agent/mandate.h"

#include <stdio.h>
#include <string.h>

#include "agent/rscript.h"
#include "common/log.h"
#include "common/util.h"

#define MANDATE_DAY_TTL (3 * 24 * 3600)   /* a day total outlives its UTC day */
#define MANDATE_RESV_TTL (30 * 24 * 3600) /* a reservation answers replays for 30 days */
#define MANDATE_RESV_ID_MAX 256

/* KEYS[1] rd:mandate:resv:{id}  KEYS[2] rd:mandate:day:{CUR}:{YYYYMMDD}
 * ARGV cur, day, amount, per-refund cap, daily cap, day ttl, resv ttl.
 * Returns {outcome, stored cur, stored amount}; outcome is "reserved",
 * "committed", "released" (an existing reservation: cur/amount are its own),
 * "over_per_refund" or "over_daily". */
static struct rscript reserve_script = {
	.name = "mandate_reserve",
	.src = "local st = redis.call('HGET', KEYS[1], 'state')\n"
	"if st then\n"
	"  local h = redis.call('HMGET', KEYS[1], 'cur', 'amount')\n"
	"  return {st, h[1] or '', h[2] or ''}\n"
	"end\n"
	"local amount = tonumber(ARGV[3])\n"
	"if amount > tonumber(ARGV[4]) then return {'over_per_refund', '', ''} end\n"
	"local used = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if amount > tonumber(ARGV[5]) - used then return {'over_daily', '', ''} end\n"
	"redis.call('INCRBY', KEYS[2], ARGV[3])\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[6])\n"
	"redis.call('HSET', KEYS[1], 'cur', ARGV[1], 'day', ARGV[2], 'amount', ARGV[3],\n"
	"           'state', 'reserved')\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
	"return {'reserved', ARGV[1], ARGV[3]}\n",
};

/* KEYS[1] rd:mandate:resv:{id}. reserved → committed.
 * Returns the state found: "reserved" (now committed), "committed",
 * "released", or "missing". */
static struct rscript commit_script = {
	.name = "mandate_commit",
	.src = "local st = redis.call('HGET', KEYS[1], 'state')\n"
	"if not st then return 'missing' end\n"
	"if st == 'reserved' then redis.call('HSET', KEYS[1], 'state', 'committed') end\n"
	"return st\n",
};

/* KEYS[1] rd:mandate:resv:{id}  KEYS[2] the day key of that reservation's
 * own cur/day, as read by the caller; ARGV cur, day it was built from.
 * reserved → released and the amount goes back to that day (never below 0;
 * nothing to give back if the day key has expired). Returns the state found,
 * "missing", or "moved" when the reservation's cur/day is not the one
 * expected (it expired and was reserved again meanwhile: read again). */
static struct rscript release_script = {
	.name = "mandate_release",
	.src = "local h = redis.call('HMGET', KEYS[1], 'state', 'cur', 'day', 'amount')\n"
	"if not h[1] then return 'missing' end\n"
	"if h[2] ~= ARGV[1] or h[3] ~= ARGV[2] then return 'moved' end\n"
	"if h[1] ~= 'reserved' then return h[1] end\n"
	"redis.call('HSET', KEYS[1], 'state', 'released')\n"
	"local used = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if used > 0 then\n"
	"  local back = tonumber(h[4]) or 0\n"
	"  if back > used then back = used end\n"
	"  redis.call('DECRBY', KEYS[2], back)\n"
	"end\n"
	"return 'reserved'\n",
};

const char *mandate_outcome_name(enum mandate_outcome o)
{
	switch (o) {
	case MANDATE_RESERVED: return "reserved";
	case MANDATE_OVER_PER_REFUND: return "over_per_refund";
	case MANDATE_OVER_DAILY: return "over_daily";
	case MANDATE_NO_CAP: return "no_cap";
	case MANDATE_SPENT: return "spent";
	case MANDATE_RELEASED: return "released";
	}
	return "unknown";
}

static enum rd_err resv_key(char *buf, size_t n, const char *resv_id)
{
	size_t len = resv_id ? strlen(resv_id) : 0;
	if (len == 0 || len > MANDATE_RESV_ID_MAX)
		return RD_EINVAL;
	return rscript_key(buf, n, "rd:mandate:resv:%s", resv_id);
}

static enum rd_err day_key(char *buf, size_t n, const char *cur, const char *day)
{
	if (!cur || money_exponent(cur) < 0)
		return RD_EINVAL;
	return rscript_key(buf, n, "rd:mandate:day:%s:%s", cur, day);
}

/* A string element of a script's array reply into buf, or RD_EPROTO. */
static enum rd_err elem_str(const redisReply *r, size_t i, char *buf, size_t n)
{
	if (r->type != REDIS_REPLY_ARRAY || i >= r->elements)
		return RD_EPROTO;
	return rscript_str(r->element[i], buf, n);
}

enum rd_err mandate_reserve(redisContext *rc, const struct mandate_config *cfg,
			    const char *resv_id, const struct money *amount, int64_t now,
			    enum mandate_outcome *out)
{
	char rkey[RSCRIPT_KEY_MAX], dkey[RSCRIPT_KEY_MAX], day[16];
	char amt[24], per[24], daily[24], dttl[24], rttl[24];
	char st[32], scur[MONEY_CUR_LEN], samt[24];
	const struct money *per_cap, *daily_cap;
	redisReply *r = NULL;
	enum rd_err err;

	if (amount->minor <= 0 || amount->minor > RSCRIPT_INT_MAX)
		return RD_EINVAL;
	utc_day(now, day, sizeof day);
	if ((err = resv_key(rkey, sizeof rkey, resv_id)) != RD_OK ||
	    (err = day_key(dkey, sizeof dkey, amount->cur, day)) != RD_OK)
		return err;

	/* No cap for the currency: no refund in it, decided before Redis. */
	per_cap = money_list_get(&cfg->per_refund_cap, amount->cur);
	daily_cap = money_list_get(&cfg->daily_cap, amount->cur);
	if (!per_cap || !daily_cap) {
		*out = MANDATE_NO_CAP;
		return RD_OK;
	}
	/* A cap beyond what Lua counts exactly cannot bind any valid amount. */
	snprintf(amt, sizeof amt, "%lld", (long long)amount->minor);
	snprintf(per, sizeof per, "%lld",
		 per_cap->minor > RSCRIPT_INT_MAX ? RSCRIPT_INT_MAX : (long long)per_cap->minor);
	snprintf(daily, sizeof daily, "%lld",
		 daily_cap->minor > RSCRIPT_INT_MAX ? RSCRIPT_INT_MAX : (long long)daily_cap->minor);
	snprintf(dttl, sizeof dttl, "%d", MANDATE_DAY_TTL);
	snprintf(rttl, sizeof rttl, "%d", MANDATE_RESV_TTL);

	const char *keys[] = { rkey, dkey };
	const char *args[] = { amount->cur, day, amt, per, daily, dttl, rttl };
	err = rscript_run(rc, &reserve_script, 2, keys, RD_ARRAY_LEN(args), args, &r);
	if (err != RD_OK)
		return err;
	if (elem_str(r, 0, st, sizeof st) != RD_OK || elem_str(r, 1, scur, sizeof scur) != RD_OK ||
	    elem_str(r, 2, samt, sizeof samt) != RD_OK) {
		err = RD_EREDIS;
		goto out;
	}
	if (strcmp(st, "over_per_refund") == 0) {
		*out = MANDATE_OVER_PER_REFUND;
		goto out;
	}
	if (strcmp(st, "over_daily") == 0) {
		*out = MANDATE_OVER_DAILY;
		goto out;
	}
	/* An existing reservation answers only for the same money: reusing an
	 * id for another amount would let that amount skip the caps. */
	if (strcmp(scur, amount->cur) != 0 || strcmp(samt, amt) != 0) {
		LOG_E("mandate", "resv_id_reused",
		      "reservation holds %s %s, asked %s %s", samt, scur, amt, amount->cur);
		err = RD_EINVAL;
		goto out;
	}
	if (strcmp(st, "reserved") == 0)
		*out = MANDATE_RESERVED;
	else if (strcmp(st, "committed") == 0)
		*out = MANDATE_SPENT;
	else if (strcmp(st, "released") == 0)
		*out = MANDATE_RELEASED;
	else
		err = RD_EREDIS;
out:
	freeReplyObject(r);
	return err;
}

enum rd_err mandate_commit(redisContext *rc, const char *resv_id)
{
	char rkey[RSCRIPT_KEY_MAX], st[32];
	redisReply *r = NULL;
	enum rd_err err;

	if ((err = resv_key(rkey, sizeof rkey, resv_id)) != RD_OK)
		return err;
	const char *keys[] = { rkey };
	if ((err = rscript_run(rc, &commit_script, 1, keys, 0, NULL, &r)) != RD_OK)
		return err;
	if (rscript_str(r, st, sizeof st) != RD_OK)
		err = RD_EREDIS;
	else if (strcmp(st, "missing") == 0)
		err = RD_ENOTFOUND;
	else if (strcmp(st, "released") == 0) {
		/* The rail paid after we gave the amount back: the day total is
		 * short by it. Loud, never silent. */
		LOG_E("mandate", "commit_after_release", "reservation was released");
		err = RD_EINVAL;
	}
	freeReplyObject(r);
	return err;
}

enum rd_err mandate_release(redisContext *rc, const char *resv_id)
{
	char rkey[RSCRIPT_KEY_MAX], dkey[RSCRIPT_KEY_MAX];
	char cur[MONEY_CUR_LEN], day[16], st[32];
	redisReply *r = NULL;
	enum rd_err err;

	if ((err = resv_key(rkey, sizeof rkey, resv_id)) != RD_OK)
		return err;
	/* The day key comes from the reservation itself; read it first so the
	 * script gets every key through KEYS, and let the script check it has
	 * not changed. Two rounds are enough unless the id is being re-reserved
	 * in a loop, which no caller does. */
	for (int attempt = 0; attempt < 4; attempt++) {
		const char *hmget[] = { "HMGET", rkey, "cur", "day" };
		if ((err = rscript_cmd(rc, RD_ARRAY_LEN(hmget), hmget, &r)) != RD_OK)
			return err;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return RD_EREDIS;
		}
		if (r->element[0]->type == REDIS_REPLY_NIL) {
			freeReplyObject(r);
			return RD_ENOTFOUND;
		}
		if (rscript_str(r->element[0], cur, sizeof cur) != RD_OK ||
		    rscript_str(r->element[1], day, sizeof day) != RD_OK) {
			freeReplyObject(r);
			return RD_EREDIS;
		}
		freeReplyObject(r);
		r = NULL;
		if ((err = day_key(dkey, sizeof dkey, cur, day)) != RD_OK)
			return RD_EREDIS; /* a reservation we did not write */

		const char *keys[] = { rkey, dkey };
		const char *args[] = { cur, day };
		err = rscript_run(rc, &release_script, 2, keys, 2, args, &r);
		if (err != RD_OK)
			return err;
		if (rscript_str(r, st, sizeof st) != RD_OK)
			err = RD_EREDIS;
		else if (strcmp(st, "missing") == 0)
			err = RD_ENOTFOUND;
		else if (strcmp(st, "committed") == 0)
			LOG_W("mandate", "release_after_commit", "committed reservation kept");
		freeReplyObject(r);
		r = NULL;
		if (err != RD_OK || strcmp(st, "moved") != 0)
			return err;
	}
	return RD_EREDIS;
}

enum rd_err mandate_used_today(redisContext *rc, const char *cur, int64_t now,
			       int64_t *out)
{
	char dkey[RSCRIPT_KEY_MAX], day[16];
	redisReply *r = NULL;
	long long v = 0;
	enum rd_err err;

	utc_day(now, day, sizeof day);
	if ((err = day_key(dkey, sizeof dkey, cur, day)) != RD_OK)
		return err;
	const char *get[] = { "GET", dkey };
	if ((err = rscript_cmd(rc, 2, get, &r)) != RD_OK)
		return err;
	if (r->type != REDIS_REPLY_NIL && rscript_int(r, &v) != RD_OK)
		err = RD_EREDIS;
	else
		*out = v;
	freeReplyObject(r);
	return err;
}
