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
	char tx_hash[96];             /* on-chain rails: the transaction, "" otherwise */
	int retryable;                /* 1: outcome unknown (timeout, 5xx): retry with the SAME key */
};

/* What the rails read from config.ini (borrowed strings). */
struct rails_config {
	struct { const char *api_base, *secret_key; int timeout_ms; } stripe;
	struct {
		const char *api_base, *token_url, *client_id, *client_secret, *cert_file, *key_file;
		int timeout_ms;
	} pix;
	struct { const char *api_base, *api_key, *agent_id; int timeout_ms; } usdc;
	int max_attempts;   /* deliveries of a turn whose outcome stays unknown before a person
	                       takes over ([rails] max_attempts); 0: RAILS_MAX_ATTEMPTS */
	int max_inflight;   /* refund calls in flight at once, all rails together (workers - 1,
	                       so a hung rail leaves a worker for everyone else); 0: 1 */
};

#define RAILS_MAX_ATTEMPTS 5 /* the default of [rails] max_attempts */

struct rail_ops {
	const char *name;             /* matches order payment.provider: "sandbox", "stripe" */
	/* Optional: build the instance (ctx) from config. */
	enum rd_err (*init)(const struct rails_config *cfg, void **ctx);
	void (*destroy)(void *ctx);
	/* Create the refund. RD_OK with res filled (status may be FAILED: a final
	 * answer from the provider); RD_EUNAVAIL/RD_ETIMEOUT when the outcome is
	 * unknown (res->retryable = 1). rc: the calling worker's Redis (borrowed).
	 * Blocking (libcurl, the thread's handle): worker threads only. */
	enum rd_err (*refund)(void *ctx, redisContext *rc, const struct rail_refund_req *req,
			      struct rail_refund_res *res);
	/* 1 when pending refunds are polled with status() (the provider has no
	 * webhooks of ours: Pix, USDC); Stripe tells us through webhooks. */
	int polled;
	/* Current status of the refund req created (req->idempotency_key and the
	 * payment say which) whose provider id is provider_refund_id. */
	enum rd_err (*status)(void *ctx, redisContext *rc, const struct rail_refund_req *req,
			      const char *provider_refund_id, struct rail_refund_res *res);
};

/* Built-in rails. */
extern const struct rail_ops rail_sandbox, rail_stripe, rail_pix, rail_usdc;

/* The rail named name among the built-ins, or NULL. */
const struct rail_ops *rail_find(const char *name);

/* Instances of the enabled rails. */
struct rails;
/* Build every rail named in enabled (unknown names are RD_ECONFIG, with the
 * name in err). */
enum rd_err rails_open(const struct rails_config *cfg, const char (*enabled)[32], size_t n,
		       struct rails **out, char *err, size_t errlen) RD_WUR;
void rails_close(struct rails *r);
/* The enabled rail for a provider and its ctx, or NULL. */
const struct rail_ops *rails_get(const struct rails *r, const char *provider, void **ctx);

/* ops->refund(ctx, …) through the in-flight limit: waits at most
 * RAILS_SLOT_WAIT_MS for a slot, else RD_EBUSY without calling the rail
 * (retry later: not an attempt). Otherwise what ops->refund returns. */
#define RAILS_SLOT_WAIT_MS 100
enum rd_err rails_refund(const struct rails *r, const struct rail_ops *ops, void *ctx,
			 redisContext *rc, const struct rail_refund_req *req,
			 struct rail_refund_res *res) RD_WUR;
/* [rails] max_attempts (at least 1). */
int rails_max_attempts(const struct rails *r);

const char *refund_status_name(enum refund_status s); /* "pending" | "succeeded" | "failed" */

#endif
