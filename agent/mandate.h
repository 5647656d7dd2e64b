/* mandate.h — the agent's spend mandate: a per-refund cap and a daily cap per
 * currency (UTC day), enforced atomically in Redis by one Lua script before
 * any rail is called. No reasoning step can lift it: a refund above a cap,
 * or in a currency with no cap configured, never executes.
 *
 * Keys: rd:mandate:day:{CUR}:{YYYYMMDD} (minor units reserved or spent that
 * day), rd:mandate:resv:{id} (hash: cur, day, amount, state
 * reserved|committed|released). */
#ifndef RD_MANDATE_H
#define RD_MANDATE_H

#include <stdint.h>
#include <hiredis.h>
#include "common/money.h"
#include "common/rd.h"

struct mandate_config {
	struct money_list per_refund_cap;
	struct money_list daily_cap;
};

enum mandate_outcome {
	MANDATE_RESERVED = 0,     /* reserved now, or the same reservation id already held */
	MANDATE_OVER_PER_REFUND,  /* amount > per-refund cap */
	MANDATE_OVER_DAILY,       /* today's reserved + amount > daily cap */
	MANDATE_NO_CAP,           /* no cap configured for this currency */
	MANDATE_SPENT,            /* this reservation id was already committed (paid) */
	MANDATE_RELEASED,         /* this reservation id was released earlier */
};

/* Reserve amount under resv_id (an idempotency key: the same id reserves
 * once). now in seconds picks the UTC day. RD_EREDIS on Redis failure.
 * RD_EINVAL for amount <= 0, an empty id, or an id already used for another
 * amount or currency (a caller bug: never a pass around the caps).
 * Blocking: call from a worker thread. */
enum rd_err mandate_reserve(redisContext *rc, const struct mandate_config *cfg,
			    const char *resv_id, const struct money *amount, int64_t now,
			    enum mandate_outcome *out) RD_WUR;

/* Mark a reservation spent (the rail paid). Idempotent. RD_ENOTFOUND for an
 * unknown (or expired) id; RD_EINVAL, logged, if it was released before. */
enum rd_err mandate_commit(redisContext *rc, const char *resv_id) RD_WUR;

/* Give a reservation back to the day (the rail finally failed). Idempotent;
 * a committed reservation is never released (RD_OK, nothing changes).
 * RD_ENOTFOUND for an unknown (or expired) id. */
enum rd_err mandate_release(redisContext *rc, const char *resv_id) RD_WUR;

/* Minor units reserved or spent in cur on the UTC day of now. */
enum rd_err mandate_used_today(redisContext *rc, const char *cur, int64_t now,
			       int64_t *out) RD_WUR;

const char *mandate_outcome_name(enum mandate_outcome o);

#endif
