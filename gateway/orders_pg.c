/* orders_pg.c — the `postgres` orders store (orders_pg.h). */
#include "gateway/orders_pg.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/orders_ext.h"
#include "gateway/orders_sql.h"

#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
#define PG_GRACE_MS 1000        /* the client's deadline past statement_timeout */
#define PG_REFUND_ID_MAX 256

/* type OIDs (catalog/pg_type.h, stable across versions) */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_DATE 1082
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184

enum { P_ORDER_ID, P_REFUND_ID, P_AMOUNT, P_N };
static const char *const param_names[P_N] = { "order_id", "refund_id", "amount" };

enum { S_LOOKUP, S_ITEMS, S_REFUND, S_LOG, S_N };
static const char *const stmt_names[S_N] = { "redress_lookup", "redress_items", "redress_refund",
					     "redress_refund_log" };
static const char *const stmt_keys[S_N] = { "lookup_sql", "items_sql", "refund_sql",
					    "refund_log_sql" };

struct slot {
	PGconn *conn;       /* owned; NULL until connected or after a loss */
	int busy;           /* taken by a thread (under mu) */
	unsigned gen;       /* pool generation it was made in */
};

struct pgstore {
	char conninfo[512];
	int timeout_ms;
	struct orders_sql sql[S_N];  /* sql[S_ITEMS].text is NULL when items_sql is "" */
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* a slot was released */
	struct slot *slots;
	int n_slots;
	unsigned gen;                /* bumped when a connection is lost: idle ones are stale */
	int failing;                 /* the last connect failed: respect next_connect */
	int64_t next_connect;        /* mono ms */
	int backoff_ms;
	struct orders_prober prober;
};

/* ---- connections ------------------------------------------------------------ */

/* PQerrorMessage's first line, for logs. */
static void first_line(const char *msg, char *out, size_t n)
{
	snprintf(out, n, "%.*s", (int)strcspn(msg ? msg : "", "\n"), msg ? msg : "");
}

/* Connect, set the session up and prepare every statement. RD_EUNAVAIL when
 * the server cannot be reached, RD_ECONFIG when it refuses a statement. */
static enum rd_err pg_connect(struct pgstore *pg, PGconn **out, char *err, size_t n)
{
	char ct[16], ms[16], line[256];
	PGresult *r = NULL;
	enum rd_err e = RD_OK;

	*out = NULL;
	snprintf(ct, sizeof ct, "%d", pg->timeout_ms < 2000 ? 2 : (pg->timeout_ms + 999) / 1000);
	/* later keywords win: the conninfo may override the first two, never the encoding */
	const char *keys[] = { "connect_timeout", "application_name", "dbname", "client_encoding", NULL };
	const char *vals[] = { ct, "redress", pg->conninfo, "UTF8", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c)
		return RD_ENOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		first_line(PQerrorMessage(c), line, sizeof line);
		snprintf(err, n, "cannot connect: %s", line);
		e = RD_EUNAVAIL;
		goto out;
	}
	snprintf(ms, sizeof ms, "%d", pg->timeout_ms);
	const char *pv[] = { ms };
	r = PQexecParams(c, "SELECT set_config('statement_timeout', $1, false)", 1, NULL, pv, NULL,
			 NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		first_line(PQerrorMessage(c), line, sizeof line);
		snprintf(err, n, "cannot set statement_timeout: %s", line);
		e = RD_EUNAVAIL;
		goto out;
	}
	for (int i = 0; i < S_N; i++) {
		if (!pg->sql[i].text)
			continue;
		PQclear(r);
		r = PQprepare(c, stmt_names[i], pg->sql[i].text, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			first_line(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), line, sizeof line);
			snprintf(err, n, "[orders.postgres] %s: %s", stmt_keys[i],
				 line[0] ? line : "cannot prepare");
			/* a lost connection is not the statement's fault */
			e = (PQstatus(c) != CONNECTION_OK || !state || !strncmp(state, "08", 2))
				    ? RD_EUNAVAIL : RD_ECONFIG;
			goto out;
		}
	}
out:
	PQclear(r);
	if (e != RD_OK)
		PQfinish(c);
	else
		*out = c;
	return e;
}

/* Take a slot (waiting up to timeout_ms when wait). A slot made before the
 * last loss is closed first: it is most likely dead too. */
static enum rd_err acquire(struct pgstore *pg, struct slot **out, int wait)
{
	struct timespec ts;
	struct slot *s = NULL;
	PGconn *stale = NULL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += pg->timeout_ms / 1000;
	ts.tv_nsec += (long)(pg->timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pg->mu);
	for (;;) {
		for (int i = 0; i < pg->n_slots; i++) {
			struct slot *t = &pg->slots[i];
			if (!t->busy && (!s || (t->conn && !s->conn)))
				s = t;
		}
		if (s || !wait)
			break;
		if (pthread_cond_timedwait(&pg->cv, &pg->mu, &ts) == ETIMEDOUT)
			break;
	}
	if (s) {
		s->busy = 1;
		if (s->conn && s->gen != pg->gen) {
			stale = s->conn;
			s->conn = NULL;
		}
	}
	pthread_mutex_unlock(&pg->mu);
	if (stale)
		PQfinish(stale);
	if (!s) {
		if (wait)
			LOG_W("orders", "pg_pool_busy", "no free connection after %d ms (pool_size %d)",
			      pg->timeout_ms, pg->n_slots);
		return RD_EUNAVAIL;
	}
	*out = s;
	return RD_OK;
}

static void release(struct pgstore *pg, struct slot *s)
{
	/* never hand on a connection left inside a transaction */
	if (s->conn && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	pthread_mutex_lock(&pg->mu);
	s->busy = 0;
	pthread_cond_signal(&pg->cv);
	pthread_mutex_unlock(&pg->mu);
}

/* The connection broke: close it, and mark every idle one stale. */
static void lost(struct pgstore *pg, struct slot *s, const char *why)
{
	LOG_W("orders", "pg_connection_lost", "%s", why);
	PQfinish(s->conn);
	s->conn = NULL;
	pthread_mutex_lock(&pg->mu);
	pg->gen++;
	pthread_mutex_unlock(&pg->mu);
	orders_prober_note(&pg->prober, 0);
}

/* Make sure s has a live connection; *fresh says it was made just now. */
static enum rd_err ensure(struct pgstore *pg, struct slot *s, int *fresh)
{
	char err[320];
	PGconn *c;
	*fresh = 0;
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return RD_OK;
	if (s->conn) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	*fresh = 1;
	int64_t now = mono_ms();
	pthread_mutex_lock(&pg->mu);
	if (pg->failing && now < pg->next_connect) {
		pthread_mutex_unlock(&pg->mu);
		return RD_EUNAVAIL; /* backing off: answer at once */
	}
	if (pg->failing) /* one attempt per window */
		pg->next_connect = now + pg->backoff_ms;
	pthread_mutex_unlock(&pg->mu);

	enum rd_err e = pg_connect(pg, &c, err, sizeof err);
	pthread_mutex_lock(&pg->mu);
	if (e == RD_OK) {
		if (pg->failing)
			LOG_I("orders", "pg_connected", "PostgreSQL answers again");
		pg->failing = 0;
		pg->backoff_ms = PG_BACKOFF_MIN_MS;
		s->conn = c;
		s->gen = pg->gen;
	} else {
		if (!pg->failing || pg->backoff_ms >= PG_BACKOFF_MAX_MS)
			LOG_W("orders", "pg_connect_failed", "%s (retrying with backoff)", err);
		pg->next_connect = mono_ms() + pg->backoff_ms;
		pg->backoff_ms = pg->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS
									  : pg->backoff_ms * 2;
		pg->failing = 1;
	}
	pthread_mutex_unlock(&pg->mu);
	if (e == RD_OK)
		orders_prober_note(&pg->prober, 1);
	else if (e == RD_ECONFIG)
		LOG_E("orders", "pg_prepare_failed", "%s", err);
	return e == RD_ENOMEM ? e : (e == RD_OK ? RD_OK : RD_EUNAVAIL);
}

/* ---- statements ------------------------------------------------------------- */

/* Run prepared statement stmt (or the constant cmd when stmt < 0) with the
 * bound values and wait for its result, at most timeout_ms + PG_GRACE_MS.
 * *res (caller PQclears) is set only on RD_OK. Errors: RD_EUNAVAIL (lost
 * connection, timeout, a statement the server refuses), RD_EINVAL (a data
 * exception, SQLSTATE class 22: a value that cannot be one, like "1001' OR"
 * for an integer id), RD_ENOTFOUND (a foreign key: no such order), RD_ELIMIT
 * (a check constraint refused the write). */
static enum rd_err run(struct pgstore *pg, struct slot *s, int stmt, const char *cmd,
		       const char *const *vals, int nvals, PGresult **res)
{
	PGconn *c = s->conn;
	PGresult *first = NULL, *r;
	char line[256];
	enum rd_err e = RD_OK;

	*res = NULL;
	int ok = stmt >= 0 ? PQsendQueryPrepared(c, stmt_names[stmt], nvals, vals, NULL, NULL, 0)
			   : PQsendQueryParams(c, cmd, 0, NULL, NULL, NULL, NULL, 0);
	if (!ok) {
		first_line(PQerrorMessage(c), line, sizeof line);
		lost(pg, s, line);
		return RD_EUNAVAIL;
	}
	int64_t deadline = mono_ms() + pg->timeout_ms + PG_GRACE_MS;
	for (;;) {
		while (PQisBusy(c)) {
			int64_t left = deadline - mono_ms();
			if (left <= 0) {
				PGcancel *cn = PQgetCancel(c);
				if (cn) {
					char eb[128];
					PQcancel(cn, eb, sizeof eb);
					PQfreeCancel(cn);
				}
				PQclear(first);
				lost(pg, s, "no answer past statement_timeout");
				return RD_EUNAVAIL;
			}
			struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
			int pr = poll(&pfd, 1, (int)left);
			if ((pr < 0 && errno != EINTR) || (pr > 0 && !PQconsumeInput(c))) {
				first_line(PQerrorMessage(c), line, sizeof line);
				PQclear(first);
				lost(pg, s, line);
				return RD_EUNAVAIL;
			}
		}
		if ((r = PQgetResult(c)) == NULL)
			break;
		if (!first)
			first = r;
		else
			PQclear(r);
	}
	ExecStatusType st = PQresultStatus(first);
	if (first && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)) {
		*res = first;
		return RD_OK;
	}
	const char *state = first ? PQresultErrorField(first, PG_DIAG_SQLSTATE) : NULL;
	first_line(first ? PQresultErrorField(first, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(c),
		   line, sizeof line);
	const char *what = stmt >= 0 ? stmt_keys[stmt] : cmd;
	if (PQstatus(c) != CONNECTION_OK || !state || !strncmp(state, "08", 2) ||
	    !strncmp(state, "57P", 3) || !strcmp(state, "26000")) {
		lost(pg, s, line); /* also 26000: our prepared statement is gone (a pooler?) */
		e = RD_EUNAVAIL;
	} else if (!strncmp(state, "22", 2)) {
		e = RD_EINVAL; /* the message may quote the customer's input: not logged */
	} else if (!strcmp(state, "23503")) {
		e = RD_ENOTFOUND; /* a refunds row for an order that is not there */
	} else if (!strcmp(state, "23514")) {
		LOG_W("orders", "pg_check_violation", "%s: %s", what, line);
		e = RD_ELIMIT;
	} else if (!strcmp(state, "57014") || !strncmp(state, "40", 2) || !strcmp(state, "55P03")) {
		LOG_W("orders", "pg_retry_later", "%s: %s (SQLSTATE %s)", what, line, state);
		e = RD_EUNAVAIL;
	} else {
		LOG_E("orders", "pg_statement_failed", "[orders.postgres] %s: %s (SQLSTATE %s)", what,
		      line, state);
		e = RD_EUNAVAIL;
	}
	PQclear(first);
	return e;
}

/* ---- rows to an order -------------------------------------------------------- */

enum kind { K_TEXT, K_INT, K_REAL, K_TIME, K_BOOL };

struct col {
	const char *name, *obj, *key;
	enum kind kind;
};

static const struct col order_cols[] = {
	{ "id", NULL, "id", K_TEXT },
	{ "currency", NULL, "currency", K_TEXT },
	{ "amount", NULL, "total", K_INT },
	{ "total", NULL, "total", K_INT },
	{ "refunded_amount", NULL, "refunded", K_INT },
	{ "refunded", NULL, "refunded", K_INT },
	{ "customer_email", "customer", "email", K_TEXT },
	{ "customer_phone", "customer", "phone", K_TEXT },
	{ "customer_name", "customer", "name", K_TEXT },
	{ "risk_score", "customer", "risk_score", K_REAL },
	{ "chargebacks", "customer", "chargebacks", K_INT },
	{ "payment_id", "payment", "id", K_TEXT },
	{ "rail", "payment", "rail", K_TEXT },
	{ "provider", "payment", "provider", K_TEXT },
	{ "created_at", NULL, "created_at", K_TIME },
	{ "delivered_at", NULL, "delivered_at", K_TIME },
	{ "delivery_status", NULL, "delivery_status", K_TEXT },
};

static const struct col item_cols[] = {
	{ "sku", NULL, "sku", K_TEXT },
	{ "category", NULL, "category", K_TEXT },
	{ "final_sale", NULL, "final_sale", K_BOOL },
	{ "price", NULL, "price", K_INT },
	{ "quantity", NULL, "quantity", K_INT },
};

/* PostgreSQL's time text to RFC 3339: "2026-11-20 10:00:00.5+05:30" →
 * "2026-11-20T10:00:00.5+05:30", "…+00" → "…+00:00"; a timestamp without
 * zone is UTC, a date is its midnight UTC; integers are epoch seconds; any
 * other text ("-2d", already RFC 3339) is kept for order_from_json. */
static json_t *time_value(const char *v, Oid type)
{
	char buf[64];
	int64_t secs;
	size_t len = strlen(v);
	if ((type == OID_INT8 || type == OID_INT4 || type == OID_INT2) && !orders_ext_int(v, &secs)) {
		rfc3339_format(secs, buf, sizeof buf);
		return json_string(buf);
	}
	if (len + 7 >= sizeof buf || (type != OID_TIMESTAMPTZ && type != OID_TIMESTAMP &&
				      type != OID_DATE))
		return json_string(v);
	memcpy(buf, v, len + 1);
	if (type == OID_DATE) {
		snprintf(buf + len, sizeof buf - len, "T00:00:00Z");
		return json_string(buf);
	}
	if (len > 10 && buf[10] == ' ')
		buf[10] = 'T';
	if (type == OID_TIMESTAMP) {
		snprintf(buf + len, sizeof buf - len, "Z");
	} else {
		char *sign = strpbrk(buf + 19 < buf + len ? buf + 19 : buf + len, "+-");
		if (sign && strlen(sign) == 3) /* "+05" */
			snprintf(sign + 3, sizeof buf - (size_t)(sign + 3 - buf), ":00");
	}
	return json_string(buf);
}

static json_t *col_value(const PGresult *r, int row, int col, enum kind kind)
{
	const char *v = PQgetvalue(r, row, col);
	int64_t i;
	if (PQgetisnull(r, row, col))
		return kind == K_TIME ? json_null() : NULL;
	switch (kind) {
	case K_INT: {
		/* numeric(…, 2) with nothing after the point is still whole */
		const char *dot = strchr(v, '.');
		if (dot && strspn(dot + 1, "0") == strlen(dot + 1)) {
			char whole[32];
			if ((size_t)(dot - v) < sizeof whole) {
				snprintf(whole, sizeof whole, "%.*s", (int)(dot - v), v);
				if (!orders_ext_int(whole, &i))
					return json_integer(i);
			}
		}
		/* else a string: order_from_json says "expected an integer (minor units)" */
		return orders_ext_int(v, &i) ? json_string(v) : json_integer(i);
	}
	case K_REAL: {
		char *end;
		double d = strtod(v, &end);
		return (*v && !*end) ? json_real(d) : json_string(v);
	}
	case K_BOOL:
		if (!strcmp(v, "t") || !strcmp(v, "true") || !strcmp(v, "1"))
			return json_true();
		if (!strcmp(v, "f") || !strcmp(v, "false") || !strcmp(v, "0"))
			return json_false();
		return json_string(v);
	case K_TIME:
		return time_value(v, PQftype(r, col));
	case K_TEXT:
		break;
	}
	return json_stringn(v, (size_t)PQgetlength(r, row, col)); /* NULL if not UTF-8 */
}

/* Columns of row that cols names, into dst (an object). */
static enum rd_err row_to_json(const PGresult *r, int row, const struct col *cols, size_t ncols,
			       json_t *dst)
{
	for (int c = 0; c < PQnfields(r); c++) {
		const char *name = PQfname(r, c);
		for (size_t k = 0; k < ncols; k++) {
			if (strcmp(cols[k].name, name) != 0)
				continue;
			if (orders_ext_set(dst, cols[k].obj, cols[k].key,
					   col_value(r, row, c, cols[k].kind)) != RD_OK)
				return RD_ENOMEM;
			break;
		}
	}
	return RD_OK;
}

/* ---- the store ------------------------------------------------------------------ */

struct call {
	const char *order_id, *refund_id;
	int64_t amount;
	struct order *out;
};

typedef enum rd_err (*call_fn)(struct pgstore *pg, struct slot *s, struct call *a);

/* Run fn on a pooled connection. A connection found dead on first use (the
 * server restarted since) is replaced once, and fn runs again. */
static enum rd_err with_conn(struct pgstore *pg, call_fn fn, struct call *a)
{
	for (int attempt = 0;; attempt++) {
		struct slot *s;
		int fresh = 0;
		enum rd_err e = acquire(pg, &s, 1);
		if (e != RD_OK)
			return e;
		if ((e = ensure(pg, s, &fresh)) == RD_OK)
			e = fn(pg, s, a);
		int dropped = s->conn == NULL;
		release(pg, s);
		if (e == RD_OK)
			orders_prober_note(&pg->prober, 1);
		if (!(e == RD_EUNAVAIL && dropped && !fresh && attempt == 0))
			return e;
	}
}

static enum rd_err do_lookup(struct pgstore *pg, struct slot *s, struct call *a)
{
	const char *values[P_N] = { a->order_id, NULL, NULL }, *vals[ORDERS_SQL_MAX_PARAMS];
	PGresult *r = NULL;
	json_t *doc = NULL, *items;
	enum rd_err e;

	orders_sql_bind(&pg->sql[S_LOOKUP], values, vals);
	if ((e = run(pg, s, S_LOOKUP, NULL, vals, (int)pg->sql[S_LOOKUP].n_params, &r)) != RD_OK)
		return e == RD_EINVAL ? RD_ENOTFOUND : e; /* no order can have such an id */
	if (PQntuples(r) == 0) {
		e = RD_ENOTFOUND;
		goto out;
	}
	if (PQntuples(r) > 1) {
		LOG_E("orders", "pg_ambiguous", "[orders.postgres] lookup_sql returned %d rows for one "
		      "order id: it must return one", PQntuples(r));
		e = RD_EUNAVAIL;
		goto out;
	}
	if ((doc = json_object()) == NULL || (items = json_array()) == NULL ||
	    json_object_set_new(doc, "items", items) != 0 ||
	    row_to_json(r, 0, order_cols, RD_ARRAY_LEN(order_cols), doc) != RD_OK) {
		e = RD_ENOMEM;
		goto out;
	}
	if (pg->sql[S_ITEMS].text) {
		PQclear(r);
		r = NULL;
		orders_sql_bind(&pg->sql[S_ITEMS], values, vals);
		if ((e = run(pg, s, S_ITEMS, NULL, vals, (int)pg->sql[S_ITEMS].n_params, &r)) != RD_OK) {
			e = e == RD_EINVAL ? RD_EUNAVAIL : e;
			goto out;
		}
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *it = json_object();
			if (!it || json_array_append_new(items, it) != 0 ||
			    row_to_json(r, i, item_cols, RD_ARRAY_LEN(item_cols), it) != RD_OK) {
				e = RD_ENOMEM;
				goto out;
			}
		}
	}
	e = orders_ext_finish(doc, a->order_id, "postgres", a->out);
out:
	PQclear(r);
	json_decref(doc);
	return e;
}

/* Rows a DML statement touched. */
static long touched(const PGresult *r)
{
	const char *t = PQcmdTuples((PGresult *)r);
	return *t ? strtol(t, NULL, 10) : 0;
}

static enum rd_err do_refund(struct pgstore *pg, struct slot *s, struct call *a)
{
	char amt[24];
	const char *values[P_N] = { a->order_id, a->refund_id, amt }, *vals[ORDERS_SQL_MAX_PARAMS];
	PGresult *r = NULL;
	enum rd_err e;
	long n;

	snprintf(amt, sizeof amt, "%lld", (long long)a->amount);
	if ((e = run(pg, s, -1, "BEGIN", NULL, 0, &r)) != RD_OK)
		return e;
	PQclear(r);
	orders_sql_bind(&pg->sql[S_LOG], values, vals);
	if ((e = run(pg, s, S_LOG, NULL, vals, (int)pg->sql[S_LOG].n_params, &r)) != RD_OK)
		goto rollback;
	n = touched(r);
	PQclear(r);
	if (n == 0) { /* counted before: a replay changes nothing */
		e = RD_OK;
		goto rollback;
	}
	orders_sql_bind(&pg->sql[S_REFUND], values, vals);
	if ((e = run(pg, s, S_REFUND, NULL, vals, (int)pg->sql[S_REFUND].n_params, &r)) != RD_OK)
		goto rollback;
	n = touched(r);
	PQclear(r);
	if (n == 1) {
		if ((e = run(pg, s, -1, "COMMIT", NULL, 0, &r)) != RD_OK)
			return e;
		/* COMMIT of a failed transaction answers ROLLBACK */
		e = strcmp(PQcmdStatus(r), "COMMIT") == 0 ? RD_OK : RD_EUNAVAIL;
		PQclear(r);
		return e;
	}
	if (n > 1)
		LOG_E("orders", "pg_refund_rows", "[orders.postgres] refund_sql updated %ld rows: it "
		      "must update the one order (nothing was written)", n);
	e = n > 1 ? RD_EUNAVAIL : RD_ELIMIT;
rollback:
	if (s->conn && run(pg, s, -1, "ROLLBACK", NULL, 0, &r) == RD_OK)
		PQclear(r);
	if (e == RD_EINVAL)
		e = RD_ENOTFOUND; /* an id or amount that cannot be one */
	if (e == RD_ELIMIT) {
		/* the guard refused: above the total, or no such order? */
		struct order o;
		struct call look = { .order_id = a->order_id, .out = &o };
		if (s->conn && do_lookup(pg, s, &look) == RD_ENOTFOUND)
			e = RD_ENOTFOUND;
	}
	return e;
}

static enum rd_err pg_lookup(void *ctx, redisContext *rc, const char *id, struct order *out)
{
	(void)rc;
	memset(out, 0, sizeof *out);
	if (!id || !id[0] || strlen(id) >= ORDER_ID_LEN)
		return RD_ENOTFOUND;
	struct call a = { .order_id = id, .out = out };
	return with_conn(ctx, do_lookup, &a);
}

static enum rd_err pg_record_refund(void *ctx, redisContext *rc, const char *order_id,
				    const char *refund_id, int64_t amount)
{
	(void)rc;
	if (!refund_id || !refund_id[0] || strlen(refund_id) > PG_REFUND_ID_MAX || amount <= 0)
		return RD_EINVAL;
	if (!order_id || !order_id[0] || strlen(order_id) >= ORDER_ID_LEN)
		return RD_ENOTFOUND;
	struct call a = { .order_id = order_id, .refund_id = refund_id, .amount = amount };
	return with_conn(ctx, do_refund, &a);
}

static enum rd_err pg_ping(void *ctx)
{
	struct pgstore *pg = ctx;
	return atomic_load(&pg->prober.up) ? RD_OK : RD_EUNAVAIL;
}

/* The prober: SELECT 1 on an idle connection (all busy: they are in use, so
 * the last answer stands). */
static enum rd_err pg_probe(void *arg)
{
	struct pgstore *pg = arg;
	struct slot *s;
	PGresult *r = NULL;
	int fresh;
	if (acquire(pg, &s, 0) != RD_OK)
		return atomic_load(&pg->prober.up) ? RD_OK : RD_EUNAVAIL;
	enum rd_err e = ensure(pg, s, &fresh);
	if (e == RD_OK && (e = run(pg, s, -1, "SELECT 1", NULL, 0, &r)) == RD_OK)
		PQclear(r);
	release(pg, s);
	return e;
}

const struct orders_store_ops orders_pg = {
	.name = "postgres",
	.lookup = pg_lookup,
	.record_refund = pg_record_refund,
	.ping = pg_ping,
};

enum rd_err orders_pg_open(const struct orders_pg_config *cfg, void **ctx, char *err,
			   size_t errlen)
{
	const char *const *names = param_names;
	const char *sqls[S_N] = { cfg->lookup_sql, cfg->items_sql, cfg->refund_sql,
				  cfg->refund_log_sql };
	char why[256];
	enum rd_err e = RD_OK;
	pthread_condattr_t ca;

	*ctx = NULL;
	struct pgstore *pg = calloc(1, sizeof *pg);
	if (!pg)
		return RD_ENOMEM;
	snprintf(pg->conninfo, sizeof pg->conninfo, "%s", cfg->conninfo);
	pg->timeout_ms = cfg->statement_timeout_ms;
	pg->backoff_ms = PG_BACKOFF_MIN_MS;
	pg->n_slots = cfg->pool_size > 0 ? cfg->pool_size : 1;
	pthread_mutex_init(&pg->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pg->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((pg->slots = calloc((size_t)pg->n_slots, sizeof *pg->slots)) == NULL) {
		e = RD_ENOMEM;
		goto out;
	}
	for (int i = 0; i < S_N; i++) {
		if (i == S_ITEMS && !sqls[i][0])
			continue; /* no items statement */
		/* lookups know only the order id */
		size_t n = (i == S_LOOKUP || i == S_ITEMS) ? 1 : P_N;
		if ((e = orders_sql_translate(sqls[i], names, n, &pg->sql[i], why, sizeof why))) {
			snprintf(err, errlen, "[orders.postgres] %s: %s", stmt_keys[i], why);
			e = e == RD_ENOMEM ? e : RD_ECONFIG;
			goto out;
		}
	}
	/* one connection now: bad SQL stops start-up, a server down does not */
	struct slot *s = &pg->slots[0];
	e = pg_connect(pg, &s->conn, why, sizeof why);
	if (e == RD_ECONFIG || e == RD_ENOMEM) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if (e != RD_OK) {
		LOG_W("orders", "pg_connect_failed", "%s (lookups answer \"unavailable\" until it "
		      "answers)", why);
		pg->failing = 1;
		pg->next_connect = mono_ms() + pg->backoff_ms;
		e = RD_OK;
	}
	pg->prober.probe = pg_probe;
	pg->prober.arg = pg;
	pg->prober.interval_ms = ORDERS_PROBE_INTERVAL_MS;
	if ((e = orders_prober_start(&pg->prober)) != RD_OK) {
		snprintf(err, errlen, "cannot start the orders prober thread");
		goto out;
	}
	if (!s->conn)
		atomic_store(&pg->prober.up, 0);
	*ctx = pg;
out:
	if (e != RD_OK)
		orders_pg_close(pg);
	return e;
}

void orders_pg_close(void *ctx)
{
	struct pgstore *pg = ctx;
	if (!pg)
		return;
	orders_prober_stop(&pg->prober);
	for (int i = 0; pg->slots && i < pg->n_slots; i++)
		if (pg->slots[i].conn)
			PQfinish(pg->slots[i].conn);
	for (int i = 0; i < S_N; i++)
		orders_sql_free(&pg->sql[i]);
	free(pg->slots);
	pthread_cond_destroy(&pg->cv);
	pthread_mutex_destroy(&pg->mu);
	free(pg);
}
