/* orders_select.h — the orders store [orders] store names: redis (default),
 * postgres (orders_pg.h) or http (orders_http.h), opened once at start-up.
 *
 *   const struct orders_store_ops *ops;
 *   void *ctx;
 *   if (orders_store_open(cfg, &ops, &ctx, err, sizeof err) != RD_OK) → print err, exit 2
 *   agent_new(&acfg, tpl, ops, ctx, &agent);
 *   … /readyz: ops->ping == NULL || ops->ping(ctx) == RD_OK (never blocks) …
 *   workers_stop(); orders_store_close(ops, ctx);
 */
#ifndef RD_ORDERS_SELECT_H
#define RD_ORDERS_SELECT_H

#include <stddef.h>
#include "agent/orders.h"
#include "common/rd.h"
#include "gateway/config.h"

/* Open the store cfg->orders.store names. On RD_OK *ops and *ctx (NULL for
 * redis) are what agent_new takes; cfg must outlive neither (what is needed
 * is copied). On error returns RD_ECONFIG (a statement PostgreSQL refuses to
 * prepare, a missing base_url…) or RD_ENOMEM with a line for people in err;
 * *ops and *ctx are then NULL. A store that is merely unreachable is not an
 * error: it answers RD_EUNAVAIL until it is back. */
enum rd_err orders_store_open(const struct config *cfg, const struct orders_store_ops **ops,
			      void **ctx, char *err, size_t errlen) RD_WUR;

/* Close what orders_store_open opened (after the last lookup: workers
 * stopped). NULL ops is fine. */
void orders_store_close(const struct orders_store_ops *ops, void *ctx);

#endif
