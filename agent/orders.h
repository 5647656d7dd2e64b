/* orders.h — the orders store interface: where the agent reads orders and
 * writes refunds back. `redis` is the default (demo, tests; filled by
 * `redress orders import`); SQL and OMS/ERP adapters implement the same ops.
 *
 * Redis layout: rd:order:{ID} hash: doc (order JSON, times resolved),
 * refunded (minor units, the authority after import), rd:order:{ID}:refunds
 * set of our refund ids already counted. */
#ifndef RD_ORDERS_H
#define RD_ORDERS_H

#include <stdint.h>
#include <hiredis.h>
#include <jansson.h>
#include "agent/order.h"
#include "common/rd.h"

struct orders_store_ops {
	const char *name;
	/* Fill *out for id. RD_ENOTFOUND when there is no such order,
	 * RD_EUNAVAIL when the store cannot answer now (never a guess). */
	enum rd_err (*lookup)(void *ctx, redisContext *rc, const char *id, struct order *out);
	/* Count refund_id's amount against the order once (idempotent per
	 * refund_id). RD_ELIMIT if it would take refunded above total. */
	enum rd_err (*record_refund)(void *ctx, redisContext *rc, const char *order_id,
				     const char *refund_id, int64_t amount);
	/* Optional (NULL: always ready). RD_OK while the store answers, else
	 * RD_EUNAVAIL. Answers from memory (the last probe or request, stores
	 * outside Redis probe about once a second on a thread of their own):
	 * never blocks, safe on the service loop, for /readyz. */
	enum rd_err (*ping)(void *ctx);
};

extern const struct orders_store_ops orders_redis;

/* Store one validated order (doc as returned by order_parse_line, borrowed).
 * Re-importing keeps the larger of the stored and the imported `refunded`,
 * so re-running the demo import never undoes a refund. */
enum rd_err orders_redis_put(redisContext *rc, json_t *doc, const struct order *o) RD_WUR;

#endif
