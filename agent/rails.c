/* rails.c — the table of built-in refund rails (rails.h). */
#include "agent/rails.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct rails {
	const struct rail_ops *ops[RAILS_MAX];
	void *ctx[RAILS_MAX];
	size_t n;
};

enum rd_err rails_open(const struct rails_config *cfg, const char (*enabled)[32], size_t n,
		       struct rails **out, char *err, size_t errlen)
{
	struct rails *r = calloc(1, sizeof *r);
	if (!r)
		return RD_ENOMEM;
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
