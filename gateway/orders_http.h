/* orders_http.h — the `http` orders store (agent/orders.h): an OMS/ERP REST
 * API, through common/httpc.h ([orders.http] in config.ini).
 *
 *   lookup     GET {base_url}{lookup_path}, {id} URL-escaped (RFC 3986
 *              unreserved characters kept, every other byte %XX).
 *              2xx: the JSON is mapped to our order (below) and validated
 *              like an import; 404, 410, 400, 422: RD_ENOTFOUND (no order
 *              can be that id); 5xx, timeouts, refused connections: retried
 *              `retries` times (0.1 s, 0.2 s, … apart), then RD_EUNAVAIL;
 *              other 4xx (401, 403, 429): RD_EUNAVAIL at once, logged.
 *   write-back {writeback_method} {base_url}{writeback_path} with
 *              {"refund_id": "rf_…", "amount": 4900, "currency": "USD"} and
 *              "Idempotency-Key: <refund_id>" (the order is read first for
 *              its currency). The OMS must answer 2xx for a new refund and
 *              for a replay of a refund_id it already has, and 409 or 422
 *              when the amount is above what remains (RD_ELIMIT); 404 is
 *              RD_ENOTFOUND; 5xx and timeouts are retried as above.
 *   ping       a prober thread GETs {base_url} every second: any answer
 *              below 500 is "up".
 *
 * The mapping: each map_* key is a JSON pointer (RFC 6901) into the
 * response ("/order/money/total/cents"; "" is the whole document), "=text"
 * for a constant ("=sandbox"), or empty for "not there". map_items points
 * at the items array and map_item_* are pointers inside each item. Amounts:
 * a JSON integer is minor units (4900), a decimal string is major units in
 * the order's currency ("49.00"), a JSON real is refused (never floats).
 * Times: RFC 3339 text, or an integer of epoch seconds (milliseconds above
 * 10^11). Ids and texts may be strings or integers. */
#ifndef RD_ORDERS_HTTP_H
#define RD_ORDERS_HTTP_H

#include <stddef.h>
#include <jansson.h>
#include "agent/orders.h"
#include "common/rd.h"
#include "gateway/orders_cfg.h"

extern const struct orders_store_ops orders_http;

/* Copy cfg and start the prober. Nothing is requested here: an OMS that is
 * down at start-up only makes lookups answer RD_EUNAVAIL. *ctx: free with
 * orders_http_close. */
enum rd_err orders_http_open(const struct orders_http_config *cfg, void **ctx, char *err,
			     size_t errlen) RD_WUR;
void orders_http_close(void *ctx);

/* The value at JSON pointer ptr (RFC 6901: "/a/0/b~1c", "" = root) in root,
 * borrowed; NULL when there is none or ptr is malformed. */
json_t *orders_json_pointer(json_t *root, const char *ptr);

/* 1 when v is "" (not mapped), a JSON pointer, or "=constant". */
int orders_map_valid(const char *v);

/* Map the OMS document src (borrowed) to our order JSON (order.h) in *doc
 * (caller decrefs) with m's map_* keys. RD_EINVAL with "map_total: …" in err
 * for a value of the wrong type (a real amount, an object for a text);
 * missing values are left out for order_from_json to judge. */
enum rd_err orders_http_map(const struct orders_http_config *m, json_t *src, json_t **doc,
			    char *err, size_t errlen) RD_WUR;

/* tmpl with every "{id}" replaced by id, URL-escaped. RD_ELIMIT if it does
 * not fit in out[n]. */
enum rd_err orders_http_path(const char *tmpl, const char *id, char *out, size_t n) RD_WUR;

#endif
