/* rails.c — the table of built-in refund rails (rails.h). */
#include "agent/rails.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Built-in rails, chosen by the order's payment.provider. No dlopen. */
static const struct rail_ops *const rails[] = {
	&rail_sandbox, &rail_stripe, &rail_pix, &rail_usdc,
};

const struct rail_ops *rail_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < RD_ARRAY_LEN(rails); i++)
		if (strcmp(rails[i]->name, name) == 0)
			return rails[i];
	return NULL;
}

const char *refund_status_name(enum refund_status s)
{
	switch (s) {
	case REFUND_PENDING: return "pending";
	case REFUND_SUCCEEDED: return "succeeded";
	case REFUND_FAILED: return "failed";
	}
	return "unknown";
}

#define RAILS_MAX 8

/* Refund calls in flight, all rails together. A rail that hangs holds its
 * callers until their timeout_ms; the limit keeps one worker free of it. */
struct slots {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int used, max;
};

struct rails {
	const struct rail_ops *ops[RAILS_MAX];
	void *ctx[RAILS_MAX];
	size_t n;
	int max_attempts;
	struct slots *slots; /* owned; mutable behind a const struct rails */
};

enum rd_err rails_open(const struct rails_config *cfg, const char (*enabled)[32], size_t n,
		       struct rails **out, char *err, size_t errlen)
{
	struct rails *r = calloc(1, sizeof *r);
	if (!r)
		return RD_ENOMEM;
	r->slots = calloc(1, sizeof *r->slots);
	if (!r->slots) {
		free(r);
		return RD_ENOMEM;
	}
	pthread_mutex_init(&r->slots->mu, NULL);
	pthread_cond_init(&r->slots->cv, NULL);
	r->slots->max = cfg->max_inflight > 0 ? cfg->max_inflight : 1;
	r->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : RAILS_MAX_ATTEMPTS;
	for (size_t i = 0; i < n && r->n < RAILS_MAX; i++) {
		const struct rail_ops *ops = rail_find(enabled[i]);
		if (!ops) {
			snprintf(err, errlen, "[rails] enabled: unknown rail \"%s\" (known: sandbox, stripe, "
					      "pix, usdc)", enabled[i]);
			rails_close(r);
			return RD_ECONFIG;
		}
		void *ctx = NULL;
		if (ops->init) {
			enum rd_err e = ops->init(cfg, &ctx);
			if (e) {
				snprintf(err, errlen, "[rails.%s]: %s", ops->name, rd_strerror(e));
				rails_close(r);
				return e;
			}
		}
		r->ops[r->n] = ops;
		r->ctx[r->n++] = ctx;
	}
	*out = r;
	return RD_OK;
}

void rails_close(struct rails *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->ops[i]->destroy)
			r->ops[i]->destroy(r->ctx[i]);
	if (r->slots) {
		pthread_mutex_destroy(&r->slots->mu);
		pthread_cond_destroy(&r->slots->cv);
		free(r->slots);
	}
	free(r);
}

const struct rail_ops *rails_get(const struct rails *r, const char *provider, void **ctx)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (strcmp(r->ops[i]->name, provider) == 0) {
			*ctx = r->ctx[i];
			return r->ops[i];
		}
	return NULL;
}

int rails_max_attempts(const struct rails *r)
{
	return r ? r->max_attempts : RAILS_MAX_ATTEMPTS; /* rails_open made it >= 1 */
}

static int slot_take(struct slots *sl)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += RAILS_SLOT_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	int got = 0, rc = 0;
	pthread_mutex_lock(&sl->mu);
	while (sl->used >= sl->max && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&sl->cv, &sl->mu, &until);
	if (sl->used < sl->max) {
		sl->used++;
		got = 1;
	}
	pthread_mutex_unlock(&sl->mu);
	return got;
}

static void slot_give(struct slots *sl)
{
	pthread_mutex_lock(&sl->mu);
	sl->used--;
	pthread_cond_signal(&sl->cv);
	pthread_mutex_unlock(&sl->mu);
}

enum rd_err rails_refund(const struct rails *r, const struct rail_ops *ops, void *ctx,
			 redisContext *rc, const struct rail_refund_req *req,
			 struct rail_refund_res *res)
{
	if (!r || !r->slots)
		return ops->refund(ctx, rc, req, res);
	if (!slot_take(r->slots)) {
		memset(res, 0, sizeof *res);
		res->status = REFUND_PENDING;
		res->retryable = 1;
		return RD_EBUSY;
	}
	enum rd_err err = ops->refund(ctx, rc, req, res);
	slot_give(r->slots);
	return err;
}
