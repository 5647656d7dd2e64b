/* orders_cfg.h — the [orders.postgres] and [orders.http] sections of
 * config.ini (struct config embeds both; config_table.c fills them). Kept
 * apart from the adapters so config.h needs neither libpq nor libcurl.
 * Every key, its default and its meaning: config.ini and README "Orders from
 * your own store". */
#ifndef RD_ORDERS_CFG_H
#define RD_ORDERS_CFG_H

#define ORDERS_SQL_LEN 1024  /* one configured statement, bytes with the NUL */
#define ORDERS_MAP_LEN 128   /* one JSON pointer (RFC 6901) or "=constant" */

struct orders_pg_config {
	char conninfo[512];              /* libpq conninfo or postgresql:// URI (secret: masked) */
	int pool_size;                   /* connections, one per concurrent lookup (4) */
	int statement_timeout_ms;        /* per statement, also bounds connects and waits (2000) */
	char lookup_sql[ORDERS_SQL_LEN]; /* one order row by :order_id, columns by name */
	char items_sql[ORDERS_SQL_LEN];  /* its item rows by :order_id ("" = no items) */
	char refund_sql[ORDERS_SQL_LEN]; /* guarded write-back: 1 row updated = counted */
	char refund_log_sql[ORDERS_SQL_LEN]; /* refunds row by :refund_id: 0 rows = a replay */
};

struct orders_http_config {
	char base_url[256];              /* http(s)://host[:port][/prefix], no trailing '/' */
	char bearer_token[1024];         /* "Authorization: Bearer …" (or basic below) */
	char username[128];              /* HTTP basic auth, with password */
	char password[256];
	int timeout_ms;                  /* per attempt (3000) */
	int retries;                     /* more attempts on 5xx and timeouts, never on 4xx (2) */
	char lookup_path[256];           /* GET base_url + this, {id} URL-escaped (/orders/{id}) */
	char writeback_method[8];        /* POST | PATCH (POST) */
	char writeback_path[256];        /* (/orders/{id}/refunds) */
	/* where each order field is in the OMS's JSON: a JSON pointer from the
	 * document root, "=text" for a constant, "" for not there */
	char map_id[ORDERS_MAP_LEN];
	char map_currency[ORDERS_MAP_LEN];
	char map_total[ORDERS_MAP_LEN];          /* JSON integer: minor units; "49.00": major */
	char map_refunded[ORDERS_MAP_LEN];
	char map_email[ORDERS_MAP_LEN];
	char map_phone[ORDERS_MAP_LEN];
	char map_name[ORDERS_MAP_LEN];
	char map_risk_score[ORDERS_MAP_LEN];
	char map_chargebacks[ORDERS_MAP_LEN];
	char map_payment_id[ORDERS_MAP_LEN];
	char map_rail[ORDERS_MAP_LEN];
	char map_provider[ORDERS_MAP_LEN];
	char map_created_at[ORDERS_MAP_LEN];     /* RFC 3339 text or epoch seconds */
	char map_delivered_at[ORDERS_MAP_LEN];
	char map_delivery_status[ORDERS_MAP_LEN];
	char map_items[ORDERS_MAP_LEN];          /* the items array */
	/* relative to each item of that array */
	char map_item_sku[ORDERS_MAP_LEN];
	char map_item_category[ORDERS_MAP_LEN];
	char map_item_final_sale[ORDERS_MAP_LEN];
	char map_item_price[ORDERS_MAP_LEN];
	char map_item_quantity[ORDERS_MAP_LEN];
};

#endif
