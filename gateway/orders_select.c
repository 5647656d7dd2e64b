/* orders_select.c — open the orders store config.ini names (orders_select.h). */
#include "gateway/orders_select.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "gateway/orders_http.h"
#include "gateway/orders_pg.h"

enum rd_err orders_store_open(const struct config *cfg, const struct orders_store_ops **ops,
			      void **ctx, char *err, size_t errlen)
{
	enum rd_err e;
	*ops = NULL;
	*ctx = NULL;
	if (strcmp(cfg->orders.store, "redis") == 0) {
		*ops = &orders_redis;
		return RD_OK;
	}
	if (strcmp(cfg->orders.store, "postgres") == 0) {
		if ((e = orders_pg_open(&cfg->orders_pg, ctx, err, errlen)) == RD_OK)
			*ops = &orders_pg;
	} else if (strcmp(cfg->orders.store, "http") == 0) {
		if ((e = orders_http_open(&cfg->orders_http, ctx, err, errlen)) == RD_OK)
			*ops = &orders_http;
	} else {
		snprintf(err, errlen, "[orders] store: unknown store \"%s\"", cfg->orders.store);
		return RD_ECONFIG;
	}
	if (e == RD_OK)
		LOG_I("orders", "store_open", "orders from %s", (*ops)->name);
	return e;
}

void orders_store_close(const struct orders_store_ops *ops, void *ctx)
{
	if (ops == &orders_pg)
		orders_pg_close(ctx);
	else if (ops == &orders_http)
		orders_http_close(ctx);
}
