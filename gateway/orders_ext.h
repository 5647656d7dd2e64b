/* orders_ext.h — what the stores outside Redis (orders_pg.c, orders_http.c)
 * share: turning a foreign record into our order (through the same
 * validation as an import: order_from_json), and a health prober thread so
 * that ping() answers from memory and never blocks its caller. */
#ifndef RD_ORDERS_EXT_H
#define RD_ORDERS_EXT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <jansson.h>
#include "agent/order.h"
#include "common/rd.h"

#define ORDERS_PROBE_INTERVAL_MS 1000

/* Set doc[obj][key] (obj NULL: doc itself; the object is created when
 * missing) to v, taking ownership of v (NULL: nothing is set). RD_ENOMEM. */
enum rd_err orders_ext_set(json_t *doc, const char *obj, const char *key, json_t *v) RD_WUR;

/* A phone as the shop wrote it ("+1 (415) 555-0101") to E.164 digits with
 * '+' into out; "" when it cannot be one (no '+', letters). */
void orders_ext_phone(const char *in, char *out, size_t n);

/* "-?[0-9]+" to int64; -1 on anything else (a decimal point, overflow). */
int orders_ext_int(const char *s, int64_t *out);

/* Validate doc (our order JSON, borrowed) into *out for the order asked as
 * want_id. A phone that is not E.164 or an email without '@' is dropped
 * rather than failing the order (identity then rests on the other one).
 * RD_ENOTFOUND when the store answered with another order's id (logged),
 * RD_EUNAVAIL when the record does not validate (logged with the reason,
 * never with personal data: the store is misconfigured, verification cannot
 * happen), RD_OK. store names the adapter in logs. */
enum rd_err orders_ext_finish(json_t *doc, const char *want_id, const char *store,
			      struct order *out) RD_WUR;

/* A thread calling probe(arg) every interval_ms; up() is its last answer
 * (starts as "up" until the first probe says otherwise). */
struct orders_prober {
	enum rd_err (*probe)(void *arg);   /* RD_OK when the store answers */
	void *arg;                          /* borrowed */
	int interval_ms;
	atomic_int up;
	/* private */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, started;
};

/* Start the thread (probe, arg, interval_ms set by the caller), with every
 * signal blocked. RD_ENOMEM when it cannot start. */
enum rd_err orders_prober_start(struct orders_prober *p) RD_WUR;
/* Stop and join it; a prober never started is fine. */
void orders_prober_stop(struct orders_prober *p);
/* Record what real traffic just learned (1 up, 0 down). */
void orders_prober_note(struct orders_prober *p, int up);

#endif
