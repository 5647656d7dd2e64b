/* rails.h — refund rails, one file per rail in agent/rails/ behind one
 * interface (curl Curl_cftype style: shared const ops + per-instance ctx).
 * The rail is chosen from the order's original payment (payment.provider),
 * never from anything the customer says: a refund can only go back to the
 * payment it reverses.
 *
 * Every refund carries an idempotency key derived from the refund request;
 * a rail must pay at most once per key, whatever the number of calls. */
#ifndef RD_RAILS_H
#define RD_RAILS_H

#include <stdint.h>
#include <hiredis.h>
#include "common/rd.h"

enum refund_status { REFUND_PENDING = 0, REFUND_SUCCEEDED, REFUND_FAILED };

struct rail_refund_req {
	const char *payment_id;       /* the provider's id of the original payment */
	const char *payment_rail;     /* "card" | "pix" | "usdc" … (informational) */
	int64_t payment_total;        /* minor units captured by that payment */
	int64_t amount;               /* minor units to refund (> 0) */
	const char *currency;         /* ISO 4217 / USDC */
	const char *reason;           /* "damaged", … or "" */
	const char *idempotency_key;  /* same key → same refund, never a second payment */
	const char *order_id;
	const char *conversation_id;
};

struct rail_refund_res {
	char provider_refund_id[128]; /* "" when the rail gave none */
	enum refund_status status;
	char failure[256];            /* provider's reason when FAILED ("amount_too_large") */
	int retryable;                /* 1: outcome unknown (timeout, 5xx): retry with the SAME key */
};

struct rail_ops {
	const char *name;             /* matches order payment.provider: "sandbox", "stripe" */
	/* Create the refund. RD_OK with res filled (status may be FAILED: a final
	 * answer from the provider); RD_EUNAVAIL/RD_ETIMEOUT when the outcome is
	 * unknown (res->retryable = 1). rc: the calling worker's Redis (borrowed). */
	enum rd_err (*refund)(void *ctx, redisContext *rc, const struct rail_refund_req *req,
			      struct rail_refund_res *res);
	/* Current status of a refund this rail created. */
	enum rd_err (*status)(void *ctx, redisContext *rc, const char *provider_refund_id,
			      struct rail_refund_res *res);
};

/* Built-in rails. */
extern const struct rail_ops rail_sandbox;

/* The rail named name among the built-ins, or NULL. */
const struct rail_ops *rail_find(const char *name);

const char *refund_status_name(enum refund_status s); /* "pending" | "succeeded" | "failed" */

#endif
