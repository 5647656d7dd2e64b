/* orders_pg.h — the `postgres` orders store (agent/orders.h) over libpq.
 *
 * The shop's own tables, read and written through four configured
 * statements ([orders.postgres] in config.ini) with named parameters
 * (:order_id, :refund_id, :amount) turned into $1.. once at start-up and
 * prepared on every connection: no value ever becomes SQL text.
 *   lookup_sql      one row for :order_id; columns by name: id, currency,
 *                   amount (or total), refunded_amount (or refunded),
 *                   customer_email, customer_phone, customer_name,
 *                   risk_score, chargebacks, payment_id, rail, provider,
 *                   created_at, delivered_at, delivery_status (others ignored)
 *   items_sql       rows for :order_id: sku, category, final_sale, price, quantity
 *   refund_log_sql  insert the refund under :refund_id; 0 rows = already counted
 *   refund_sql      the guarded write-back; 1 row = counted, 0 = above the total
 * A write-back runs log then update in one transaction, so a replay changes
 * nothing and two refunds at the same moment cannot pass the guard together.
 * The default statements fit demo/postgres-schema.sql.
 *
 * A pool of pool_size connections (made on demand, thread-safe: every
 * worker looks up concurrently; a caller waits at most statement_timeout_ms
 * for a free one). statement_timeout is set on each session, and the client
 * gives up 1 s later whatever the network does. A lost connection is made
 * again with backoff (0.1 s doubling to 5 s); meanwhile calls answer
 * RD_EUNAVAIL at once. A prober thread runs SELECT 1 every second for ping(). */
#ifndef RD_ORDERS_PG_H
#define RD_ORDERS_PG_H

#include <stddef.h>
#include "agent/orders.h"
#include "common/rd.h"
#include "gateway/orders_cfg.h"

extern const struct orders_store_ops orders_pg;

/* Translate the statements, start the pool and the prober, and try one
 * connection now: a server that does not answer is logged and retried
 * later (lookups answer RD_EUNAVAIL meanwhile), but SQL the server refuses
 * to prepare (a typo, a missing table) fails here with RD_ECONFIG and
 * "[orders.postgres] lookup_sql: relation \"orderz\" does not exist" in err.
 * cfg is copied. *ctx: free with orders_pg_close. */
enum rd_err orders_pg_open(const struct orders_pg_config *cfg, void **ctx, char *err,
			   size_t errlen) RD_WUR;

/* Stop the prober and close every connection. Call after the last lookup
 * (workers stopped). NULL is fine. */
void orders_pg_close(void *ctx);

#endif
