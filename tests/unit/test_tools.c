/* test_tools.c — the agent's Redis tools against a real redis-server: the
 * spend mandate (caps, idempotency, release/commit, 8 processes racing), the
 * sandbox rail, the orders store, credit notes and review tickets,
 * review_redact, and the trimming of handled stream entries (gateway/trim.h). Starts its own redis-server on a free port (needs
 * redis-server in PATH); every test starts from an empty database. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "agent/creditnote.h"
#include "agent/limits.h"
#include "agent/mandate.h"
#include "agent/orders.h"
#include "agent/rails.h"
#include "agent/review.h"
#include "agent/rscript.h"
#include "common/util.h"
#include "gateway/consumer.h"
#include "gateway/trim.h"

#define NOW INT64_C(1795168800) /* 2026-11-20T10:00:00Z */
#define REDIS_START_MS 5000
#define RACE_PROCS 8
#define RACE_PER_PROC 100
#define RACE_AMOUNT 37
#define RACE_DAILY_CAP 10000

static pid_t redis_pid = -1;
static int redis_port;
static char redis_dir[] = "/tmp/redress-test-XXXXXX";
static redisContext *rc;

/* ---- the redis-server under test ---------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static redisContext *connect_redis(void)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

static int ping(void)
{
	redisContext *c = connect_redis();
	int ok = 0;
	if (!c)
		return 0;
	redisReply *r = redisCommand(c, "PING");
	ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return ok;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int start_redis(void **state)
{
	char port[16];
	(void)state;
	if (!mkdtemp(redis_dir) || (redis_port = free_port()) <= 0)
		return -1;
	snprintf(port, sizeof port, "%d", redis_port);
	redis_pid = fork();
	if (redis_pid < 0)
		return -1;
	if (redis_pid == 0) {
		FILE *log = freopen("/dev/null", "w", stdout);
		(void)log;
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--save", "", "--appendonly", "no", "--dir", redis_dir, (char *)NULL);
		_exit(127);
	}
	for (int64_t t0 = mono_ms(); mono_ms() - t0 < REDIS_START_MS; sleep_ms(20)) {
		if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid) {
			redis_pid = -1;
			fprintf(stderr, "redis-server exited at start\n");
			return -1;
		}
		if (ping()) {
			rc = connect_redis();
			return rc ? 0 : -1;
		}
	}
	fprintf(stderr, "redis-server did not answer PING within %d ms\n", REDIS_START_MS);
	return -1;
}

static int stop_redis(void **state)
{
	(void)state;
	if (rc)
		redisFree(rc);
	rc = NULL;
	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
	remove_dir(redis_dir);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

/* Run a command and return its reply (asserts it is not an error). */
static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	return r;
}

static int flush_db(void **state)
{
	(void)state;
	freeReplyObject(cmd("FLUSHALL"));
	return 0;
}

/* Integer value of GET key (0 when absent). */
static long long get_int(const char *key)
{
	redisReply *r = cmd("GET %s", key);
	long long v = r->type == REDIS_REPLY_NIL ? 0 : strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* Assert HGET key field == want (want NULL: field absent). */
static void expect_field(const char *key, const char *field, const char *want)
{
	redisReply *r = cmd("HGET %s %s", key, field);
	if (!want) {
		assert_int_equal(r->type, REDIS_REPLY_NIL);
	} else {
		assert_int_equal(r->type, REDIS_REPLY_STRING);
		assert_string_equal(r->str, want);
	}
	freeReplyObject(r);
}

static long long count_keys(const char *pattern)
{
	redisReply *r = cmd("KEYS %s", pattern);
	long long n = (long long)r->elements;
	freeReplyObject(r);
	return n;
}

static void config(struct mandate_config *cfg, const char *per, const char *daily)
{
	memset(cfg, 0, sizeof *cfg);
	assert_int_equal(money_list_parse(per, &cfg->per_refund_cap, NULL), RD_OK);
	assert_int_equal(money_list_parse(daily, &cfg->daily_cap, NULL), RD_OK);
}

static enum mandate_outcome reserve(const struct mandate_config *cfg, const char *id,
				    int64_t minor, const char *cur)
{
	struct money m = { .minor = minor };
	enum mandate_outcome o = (enum mandate_outcome)-1;
	snprintf(m.cur, sizeof m.cur, "%s", cur);
	assert_int_equal(mandate_reserve(rc, cfg, id, &m, NOW, &o), RD_OK);
	return o;
}

static int64_t used(const char *cur)
{
	int64_t v = -1;
	assert_int_equal(mandate_used_today(rc, cur, NOW, &v), RD_OK);
	return v;
}

/* ---- mandate -------------------------------------------------------------- */

static void test_mandate_within_caps(void **state)
{
	struct mandate_config cfg;
	(void)state;
	config(&cfg, "USD 75.00, BRL 400.00", "USD 100.00, BRL 1000.00");
	freeReplyObject(cmd("SCRIPT FLUSH")); /* first call goes through NOSCRIPT → EVAL */
	assert_int_equal(reserve(&cfg, "r1", 2500, "USD"), MANDATE_RESERVED);
	assert_int_equal(used("USD"), 2500);
	assert_int_equal(used("BRL"), 0);
	assert_int_equal(get_int("rd:mandate:day:USD:20261120"), 2500);
	expect_field("rd:mandate:resv:r1", "state", "reserved");
	expect_field("rd:mandate:resv:r1", "amount", "2500");
	expect_field("rd:mandate:resv:r1", "cur", "USD");
	expect_field("rd:mandate:resv:r1", "day", "20261120");
	redisReply *r = cmd("TTL rd:mandate:day:USD:20261120");
	assert_true(r->integer > 0 && r->integer <= 3 * 24 * 3600);
	freeReplyObject(r);
	r = cmd("TTL rd:mandate:resv:r1");
	assert_true(r->integer > 3 * 24 * 3600);
	freeReplyObject(r);
	assert_int_equal(reserve(&cfg, "r2", 7500, "USD"), MANDATE_RESERVED); /* = per-refund cap */
	assert_int_equal(used("USD"), 10000);
	assert_string_equal(mandate_outcome_name(MANDATE_OVER_DAILY), "over_daily");
}

static void test_mandate_same_id_once(void **state)
{
	struct mandate_config cfg;
	struct money other = { .minor = 2600, .cur = "USD" };
	enum mandate_outcome o;
	(void)state;
	config(&cfg, "USD 75.00", "USD 100.00");
	assert_int_equal(reserve(&cfg, "same", 2500, "USD"), MANDATE_RESERVED);
	assert_int_equal(reserve(&cfg, "same", 2500, "USD"), MANDATE_RESERVED);
	assert_int_equal(used("USD"), 2500);
	/* the same id for another amount is a caller bug, never a free pass */
	assert_int_equal(mandate_reserve(rc, &cfg, "same", &other, NOW, &o), RD_EINVAL);
	assert_int_equal(used("USD"), 2500);
}

static void test_mandate_over_per_refund(void **state)
{
	struct mandate_config cfg;
	(void)state;
	config(&cfg, "USD 50.00", "USD 100.00");
	assert_int_equal(reserve(&cfg, "big", 5001, "USD"), MANDATE_OVER_PER_REFUND);
	assert_int_equal(used("USD"), 0);
	assert_int_equal(count_keys("rd:mandate:resv:*"), 0);
	assert_int_equal(reserve(&cfg, "edge", 5000, "USD"), MANDATE_RESERVED);
}

static void test_mandate_over_daily(void **state)
{
	struct mandate_config cfg;
	(void)state;
	config(&cfg, "USD 100.00", "USD 100.00");
	assert_int_equal(reserve(&cfg, "a", 6000, "USD"), MANDATE_RESERVED);
	assert_int_equal(reserve(&cfg, "b", 4000, "USD"), MANDATE_RESERVED);
	assert_int_equal(reserve(&cfg, "c", 1, "USD"), MANDATE_OVER_DAILY);
	assert_int_equal(used("USD"), 10000);
	assert_int_equal(count_keys("rd:mandate:resv:*"), 2);
	/* another UTC day starts from zero */
	struct money m = { .minor = 1, .cur = "USD" };
	enum mandate_outcome o;
	assert_int_equal(mandate_reserve(rc, &cfg, "d", &m, NOW + 86400, &o), RD_OK);
	assert_int_equal(o, MANDATE_RESERVED);
}

static void test_mandate_no_cap(void **state)
{
	struct mandate_config cfg;
	struct money bad = { .minor = 0, .cur = "USD" };
	enum mandate_outcome o;
	(void)state;
	config(&cfg, "USD 100.00, EUR 50.00", "USD 100.00");
	assert_int_equal(reserve(&cfg, "e", 100, "EUR"), MANDATE_NO_CAP); /* no daily cap */
	assert_int_equal(reserve(&cfg, "j", 100, "JPY"), MANDATE_NO_CAP);
	redisReply *r = cmd("DBSIZE");
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	assert_int_equal(mandate_reserve(rc, &cfg, "z", &bad, NOW, &o), RD_EINVAL);
	bad.minor = 1;
	assert_int_equal(mandate_reserve(rc, &cfg, "", &bad, NOW, &o), RD_EINVAL);
}

static void test_mandate_release(void **state)
{
	struct mandate_config cfg;
	(void)state;
	config(&cfg, "USD 100.00", "USD 100.00");
	assert_int_equal(reserve(&cfg, "keep", 1000, "USD"), MANDATE_RESERVED);
	assert_int_equal(reserve(&cfg, "rel", 3000, "USD"), MANDATE_RESERVED);
	assert_int_equal(used("USD"), 4000);
	assert_int_equal(mandate_release(rc, "rel"), RD_OK);
	assert_int_equal(used("USD"), 1000);
	expect_field("rd:mandate:resv:rel", "state", "released");
	assert_int_equal(mandate_release(rc, "rel"), RD_OK); /* idempotent */
	assert_int_equal(used("USD"), 1000);
	assert_int_equal(reserve(&cfg, "rel", 3000, "USD"), MANDATE_RELEASED);
	assert_int_equal(used("USD"), 1000);
	assert_int_equal(mandate_release(rc, "never"), RD_ENOTFOUND);
	assert_int_equal(mandate_commit(rc, "never"), RD_ENOTFOUND);
	assert_int_equal(mandate_commit(rc, "rel"), RD_EINVAL); /* paid after release: loud */
}

static void test_mandate_commit_then_release(void **state)
{
	struct mandate_config cfg;
	(void)state;
	config(&cfg, "USD 100.00", "USD 100.00");
	assert_int_equal(reserve(&cfg, "paid", 4200, "USD"), MANDATE_RESERVED);
	assert_int_equal(mandate_commit(rc, "paid"), RD_OK);
	assert_int_equal(mandate_commit(rc, "paid"), RD_OK); /* idempotent */
	expect_field("rd:mandate:resv:paid", "state", "committed");
	assert_int_equal(mandate_release(rc, "paid"), RD_OK);
	expect_field("rd:mandate:resv:paid", "state", "committed");
	assert_int_equal(used("USD"), 4200);
	assert_int_equal(reserve(&cfg, "paid", 4200, "USD"), MANDATE_SPENT);
	assert_int_equal(used("USD"), 4200);
}

/* One racing process: its own connection, RACE_PER_PROC distinct ids. */
static void race_child(int n)
{
	struct mandate_config cfg;
	struct money m = { .minor = RACE_AMOUNT, .cur = "USD" };
	char id[64];
	int bad = 0;
	redisContext *c = connect_redis();

	memset(&cfg, 0, sizeof cfg);
	if (!c || money_list_parse("USD 100.00", &cfg.per_refund_cap, NULL) != RD_OK ||
	    money_list_parse("USD 100.00", &cfg.daily_cap, NULL) != RD_OK)
		_exit(2);
	for (int i = 0; i < RACE_PER_PROC; i++) {
		enum mandate_outcome o;
		snprintf(id, sizeof id, "race-%d-%d", n, i);
		if (mandate_reserve(c, &cfg, id, &m, NOW, &o) != RD_OK ||
		    (o != MANDATE_RESERVED && o != MANDATE_OVER_DAILY))
			bad = 1;
	}
	redisFree(c);
	_exit(bad);
}

static void test_mandate_race(void **state)
{
	pid_t kids[RACE_PROCS];
	(void)state;
	for (int i = 0; i < RACE_PROCS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0)
			race_child(i);
	}
	for (int i = 0; i < RACE_PROCS; i++) {
		int st = -1;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	long long total = get_int("rd:mandate:day:USD:20261120");
	long long ok = count_keys("rd:mandate:resv:race-*");
	assert_true(total <= RACE_DAILY_CAP);
	assert_int_equal(total, RACE_AMOUNT * ok);
	assert_int_equal(ok, RACE_DAILY_CAP / RACE_AMOUNT); /* 270: every unit that fits */
}

/* A context whose connection failed: every call must report it, not guess. */
static void test_redis_down(void **state)
{
	struct mandate_config cfg;
	struct money m = { .minor = 100, .cur = "USD" };
	struct rail_refund_req req = { .payment_id = "pi_1", .payment_total = 1000, .amount = 100,
				       .currency = "USD", .idempotency_key = "k" };
	struct rail_refund_res res;
	struct order o;
	enum mandate_outcome out;
	char num[32];
	int created;
	(void)state;
	int port = free_port();
	redisContext *dead = redisConnect("127.0.0.1", port);
	assert_non_null(dead);
	assert_true(dead->err != 0);
	config(&cfg, "USD 100.00", "USD 100.00");
	assert_int_equal(mandate_reserve(dead, &cfg, "x", &m, NOW, &out), RD_EREDIS);
	assert_int_equal(rail_sandbox.refund(NULL, dead, &req, &res), RD_EUNAVAIL);
	assert_int_equal(res.retryable, 1);
	assert_int_equal(orders_redis.lookup(NULL, dead, "8421", &o), RD_EUNAVAIL);
	struct credit_note_req cn = { .prefix = "NC-", .refund_id = "rf_1", .amount = 1 };
	assert_int_equal(creditnote_issue(dead, &cn, num, sizeof num, &created), RD_EREDIS);
	redisFree(dead);
}

/* ---- sandbox rail ----------------------------------------------------------- */

static struct rail_refund_req sandbox_req(const char *key, int64_t amount)
{
	struct rail_refund_req req = {
		.payment_id = "E18236120202611201530s0123456789", .payment_rail = "pix",
		.payment_total = 18600, .amount = amount, .currency = "BRL", .reason = "damaged",
		.idempotency_key = key, .order_id = "8421", .conversation_id = "conv-1",
	};
	return req;
}

static void test_sandbox_refund_idempotent(void **state)
{
	struct rail_refund_req req = sandbox_req("rf_conv-1_1", 18600);
	struct rail_refund_res a, b, s;
	(void)state;
	assert_ptr_equal(rail_find("sandbox"), &rail_sandbox);
	assert_null(rail_find("stripe-not-built-in"));
	assert_string_equal(refund_status_name(REFUND_SUCCEEDED), "succeeded");

	assert_int_equal(rail_sandbox.refund(NULL, rc, &req, &a), RD_OK);
	assert_int_equal(a.status, REFUND_SUCCEEDED);
	assert_string_equal(a.provider_refund_id, "re_sbx_000001");
	assert_int_equal(a.retryable, 0);
	assert_int_equal(rail_sandbox.refund(NULL, rc, &req, &b), RD_OK);
	assert_int_equal(b.status, REFUND_SUCCEEDED);
	assert_string_equal(b.provider_refund_id, a.provider_refund_id);
	assert_int_equal(get_int("rd:sandbox:calls"), 2);
	assert_int_equal(get_int("rd:sandbox:refunds"), 1);
	assert_int_equal(get_int("rd:sandbox:paid:E18236120202611201530s0123456789"), 18600);

	const char *k = "rd:sandbox:refund:re_sbx_000001";
	expect_field(k, "payment_id", "E18236120202611201530s0123456789");
	expect_field(k, "amount", "18600");
	expect_field(k, "currency", "BRL");
	expect_field(k, "reason", "damaged");
	expect_field(k, "idempotency_key", "rf_conv-1_1");
	expect_field(k, "order_id", "8421");
	expect_field(k, "conversation_id", "conv-1");
	expect_field(k, "status", "succeeded");

	assert_int_equal(rail_sandbox.status(NULL, rc, NULL, "re_sbx_000001", &s), RD_OK);
	assert_int_equal(s.status, REFUND_SUCCEEDED);
	assert_string_equal(s.provider_refund_id, "re_sbx_000001");
	assert_int_equal(rail_sandbox.status(NULL, rc, NULL, "re_sbx_999999", &s), RD_ENOTFOUND);
}

static void test_sandbox_amount_too_large(void **state)
{
	struct rail_refund_req a = sandbox_req("k-a", 10000), b = sandbox_req("k-b", 8601),
			       c = sandbox_req("k-c", 8600);
	struct rail_refund_res res;
	(void)state;
	assert_int_equal(rail_sandbox.refund(NULL, rc, &a, &res), RD_OK);
	assert_int_equal(res.status, REFUND_SUCCEEDED);
	assert_int_equal(rail_sandbox.refund(NULL, rc, &b, &res), RD_OK);
	assert_int_equal(res.status, REFUND_FAILED);
	assert_string_equal(res.failure, "amount_too_large");
	assert_int_equal(res.retryable, 0);
	assert_string_equal(res.provider_refund_id, "");
	assert_int_equal(get_int("rd:sandbox:paid:E18236120202611201530s0123456789"), 10000);
	assert_int_equal(get_int("rd:sandbox:refunds"), 1);
	assert_int_equal(rail_sandbox.refund(NULL, rc, &c, &res), RD_OK); /* exactly the rest */
	assert_int_equal(res.status, REFUND_SUCCEEDED);
	assert_string_equal(res.provider_refund_id, "re_sbx_000002");
	assert_int_equal(get_int("rd:sandbox:calls"), 3);
}

/* ---- orders store ----------------------------------------------------------- */

static const char order_line[] =
	"{\"id\": \"8421\", \"currency\": \"BRL\", \"total\": 18600, \"refunded\": %d,"
	" \"customer\": {\"name\": \"Marina\", \"email\": \"marina@example.com\","
	" \"phone\": \"+5511987654321\", \"risk_score\": 0.05, \"chargebacks\": 0},"
	" \"items\": [{\"sku\": \"TSHIRT-001\", \"category\": \"apparel\", \"final_sale\": false,"
	" \"price\": 18600, \"quantity\": 1}],"
	" \"payment\": {\"rail\": \"pix\", \"provider\": \"sandbox\", \"id\": \"E1823\"},"
	" \"created_at\": \"-2d\", \"delivered_at\": \"-1d\", \"delivery_status\": \"delivered\"}";

static void put_order(int refunded)
{
	char line[1024], err[256];
	struct order o;
	json_t *doc = NULL;
	snprintf(line, sizeof line, order_line, refunded);
	assert_int_equal(order_parse_line(line, strlen(line), NOW, &o, &doc, err, sizeof err), RD_OK);
	assert_int_equal(orders_redis_put(rc, doc, &o), RD_OK);
	json_decref(doc);
}

static void test_orders_round_trip(void **state)
{
	struct order o;
	(void)state;
	put_order(0);
	assert_int_equal(orders_redis.lookup(NULL, rc, "8421", &o), RD_OK);
	assert_string_equal(o.id, "8421");
	assert_string_equal(o.currency, "BRL");
	assert_int_equal(o.total, 18600);
	assert_int_equal(o.refunded, 0);
	assert_string_equal(o.customer.email, "marina@example.com");
	assert_int_equal(o.n_items, 1);
	assert_string_equal(o.items[0].sku, "TSHIRT-001");
	assert_string_equal(o.payment.provider, "sandbox");
	assert_int_equal(o.created_at, NOW - 2 * 86400); /* times stored resolved */
	assert_int_equal(o.delivered_at, NOW - 86400);
	expect_field("rd:order:8421", "total", "18600");
	assert_int_equal(orders_redis.lookup(NULL, rc, "9999", &o), RD_ENOTFOUND);
	assert_string_equal(orders_redis.name, "redis");
}

static void test_orders_record_refund(void **state)
{
	struct order o;
	(void)state;
	put_order(0);
	assert_int_equal(orders_redis.record_refund(NULL, rc, "8421", "rf_1", 10000), RD_OK);
	assert_int_equal(orders_redis.record_refund(NULL, rc, "8421", "rf_1", 10000), RD_OK);
	assert_int_equal(orders_redis.lookup(NULL, rc, "8421", &o), RD_OK);
	assert_int_equal(o.refunded, 10000);
	assert_int_equal(orders_redis.record_refund(NULL, rc, "8421", "rf_2", 8601), RD_ELIMIT);
	redisReply *r = cmd("SISMEMBER rd:order:8421:refunds rf_2");
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	assert_int_equal(orders_redis.record_refund(NULL, rc, "8421", "rf_3", 8600), RD_OK);
	assert_int_equal(orders_redis.lookup(NULL, rc, "8421", &o), RD_OK);
	assert_int_equal(o.refunded, 18600);
	assert_int_equal(order_remaining(&o), 0);
	assert_int_equal(orders_redis.record_refund(NULL, rc, "404", "rf_4", 1), RD_ENOTFOUND);
	assert_int_equal(orders_redis.record_refund(NULL, rc, "8421", "rf_5", 0), RD_EINVAL);
}

static void test_orders_reput_keeps_refunded(void **state)
{
	struct order o;
	(void)state;
	put_order(0);
	assert_int_equal(orders_redis.record_refund(NULL, rc, "8421", "rf_1", 5000), RD_OK);
	put_order(0); /* the demo import again */
	assert_int_equal(orders_redis.lookup(NULL, rc, "8421", &o), RD_OK);
	assert_int_equal(o.refunded, 5000);
	put_order(7000); /* the source now knows more */
	assert_int_equal(orders_redis.lookup(NULL, rc, "8421", &o), RD_OK);
	assert_int_equal(o.refunded, 7000);
	redisReply *r = cmd("SISMEMBER rd:order:8421:refunds rf_1");
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
}

/* ---- credit notes ----------------------------------------------------------- */

static struct credit_note_req cn_req(const char *refund_id)
{
	struct credit_note_req req = {
		.prefix = "NC-", .issuer = "Loja Exemplo", .refund_id = refund_id,
		.order_id = "8421", .amount = 18600, .currency = "BRL", .customer = "Marina",
		.reason = "damaged", .issued_at = NOW,
	};
	return req;
}

static void test_creditnote_numbering(void **state)
{
	struct credit_note_req a = cn_req("rf_a"), b = cn_req("rf_b"), c = cn_req("rf_c");
	char num[32];
	int created = -1;
	(void)state;
	assert_int_equal(creditnote_issue(rc, &a, num, sizeof num, &created), RD_OK);
	assert_string_equal(num, "NC-0001");
	assert_int_equal(created, 1);
	assert_int_equal(creditnote_issue(rc, &b, num, sizeof num, &created), RD_OK);
	assert_string_equal(num, "NC-0002");
	assert_int_equal(created, 1);
	assert_int_equal(creditnote_issue(rc, &a, num, sizeof num, &created), RD_OK);
	assert_string_equal(num, "NC-0001");
	assert_int_equal(created, 0);
	assert_int_equal(get_int("rd:cn:seq:NC-"), 2);
	expect_field("rd:cn:NC-0001", "refund_id", "rf_a");
	expect_field("rd:cn:NC-0001", "amount", "18600");
	expect_field("rd:cn:NC-0001", "customer", "Marina");
	expect_field("rd:cn:NC-0001", "issued_at", "1795168800");
	expect_field("rd:cn:byrefund", "rf_b", "NC-0002");

	assert_int_equal(creditnote_seal(rc, "NC-0001", "abc123"), RD_OK);
	assert_int_equal(creditnote_seal(rc, "NC-0001", "abc123"), RD_OK);
	assert_int_equal(creditnote_seal(rc, "NC-0001", "other"), RD_EEXIST);
	expect_field("rd:cn:NC-0001", "seal", "abc123");
	assert_int_equal(creditnote_seal(rc, "NC-0404", "abc123"), RD_ENOTFOUND);
	assert_int_equal(count_keys("rd:cn:NC-0404"), 0);

	freeReplyObject(cmd("SET rd:cn:seq:NC- 9999"));
	assert_int_equal(creditnote_issue(rc, &c, num, sizeof num, &created), RD_OK);
	assert_string_equal(num, "NC-10000");
}

/* 4 processes issue 25 notes each at once: numbers 1..100, none twice. */
static void test_creditnote_race(void **state)
{
	pid_t kids[4];
	(void)state;
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			redisContext *c = connect_redis();
			int bad = !c;
			for (int j = 0; c && j < 25; j++) {
				char rid[32], num[32];
				int created;
				snprintf(rid, sizeof rid, "rf_%d_%d", i, j);
				struct credit_note_req req = cn_req(rid);
				if (creditnote_issue(c, &req, num, sizeof num, &created) != RD_OK ||
				    !created)
					bad = 1;
			}
			if (c)
				redisFree(c);
			_exit(bad);
		}
	}
	for (int i = 0; i < 4; i++) {
		int st = -1;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(get_int("rd:cn:seq:NC-"), 100);
	assert_int_equal(count_keys("rd:cn:NC-*"), 100);
	expect_field("rd:cn:NC-0100", "number", "NC-0100");
	redisReply *r = cmd("HLEN rd:cn:byrefund");
	assert_int_equal(r->integer, 100);
	freeReplyObject(r);
}

/* ---- review tickets ----------------------------------------------------------- */

static void test_review_ticket(void **state)
{
	struct ticket_req req = {
		.ikey = "wamid.1:escalate", .conversation_id = "conv-1", .channel = "whatsapp",
		.channel_user_id = "5511987654321", .locale = "pt-BR", .order_id = "8421",
		.amount = 18600, .currency = "BRL", .reason = "mandate_over_per_refund",
		.decision_json = "{\"decision\":\"escalate\"}",
		.request_text = "quero reembolso 100% % %s", .suggested_action = "approve",
		.created_at = NOW,
	};
	char id[32];
	int created = -1;
	(void)state;
	assert_int_equal(review_open(rc, &req, id, sizeof id, &created), RD_OK);
	assert_string_equal(id, "T-0001");
	assert_int_equal(created, 1);
	assert_int_equal(review_open(rc, &req, id, sizeof id, &created), RD_OK);
	assert_string_equal(id, "T-0001");
	assert_int_equal(created, 0);
	expect_field("rd:ticket:T-0001", "status", "open");
	expect_field("rd:ticket:T-0001", "order_id", "8421");
	expect_field("rd:ticket:T-0001", "amount", "18600");
	expect_field("rd:ticket:T-0001", "request_text", "quero reembolso 100% % %s");
	expect_field("rd:ticket:T-0001", "decision_json", "{\"decision\":\"escalate\"}");
	expect_field("rd:ticket:T-0001", "reason", "mandate_over_per_refund");
	expect_field("rd:ticket:T-0001", "created_at", "1795168800");
	expect_field("rd:ticket:bykey", "wamid.1:escalate", "T-0001");
	redisReply *r = cmd("ZSCORE rd:tickets:open T-0001");
	assert_int_equal(strtoll(r->str, NULL, 10), NOW);
	freeReplyObject(r);

	req.ikey = "wamid.2:escalate";
	req.order_id = "";
	assert_int_equal(review_open(rc, &req, id, sizeof id, &created), RD_OK);
	assert_string_equal(id, "T-0002");
	assert_int_equal(created, 1);
	expect_field("rd:ticket:T-0002", "order_id", "");
}

static void expect_redact(const char *in, const char *want)
{
	char *got = review_redact(in);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_review_redact(void **state)
{
	(void)state;
	expect_redact("my card 4111 1111 1111 1111 order 8421",
		      "my card [redacted] order 8421");
	expect_redact("4111111111111111", "[redacted]");
	expect_redact("card 4111-1111-1111-1111.", "card [redacted].");
	expect_redact("amex 3782 822463 10005 ok", "amex [redacted] ok");
	expect_redact("13 digits 4222222222222", "13 digits [redacted]");
	expect_redact("12 digits 422222222222", "12 digits 422222222222");
	expect_redact("call +1 415 555 0101 about 8421, R$ 186,00",
		      "call +1 415 555 0101 about 8421, R$ 186,00");
	expect_redact("double  spaces 4111  1111  1111  1111", "double  spaces 4111  1111  1111  1111");
	expect_redact("order 8421 4111 1111 1111 1111", "order [redacted]");
	expect_redact("", "");
	expect_redact("no digits", "no digits");
}

/* ---- rscript_append / rscript_command ------------------------------------ */

/* A word is one argument, byte for byte: no format string to trip on '%',
 * spaces or quotes; pipelined commands answer in order; too many words
 * queue nothing, so the replies that follow stay in step. */
static void test_rscript_words(void **state)
{
	(void)state;
	const char *odd = "50% off \"now\" {x} \t end";
	assert_int_equal(rscript_append(rc, "SET", "k:odd", odd, NULL), REDIS_OK);
	assert_int_equal(rscript_append(rc, "HSET", "k:h", "a", "1", "b", "", NULL), REDIS_OK);
	redisReply *r = NULL;
	assert_int_equal(redisGetReply(rc, (void **)&r), REDIS_OK);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	assert_int_equal(redisGetReply(rc, (void **)&r), REDIS_OK);
	assert_int_equal(r->integer, 2);
	freeReplyObject(r);

	r = rscript_command(rc, "GET", "k:odd", NULL);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_string_equal(r->str, odd);
	freeReplyObject(r);
	r = rscript_command(rc, "HGET", "k:h", "b", NULL);
	assert_non_null(r);
	assert_int_equal(r->len, 0);
	freeReplyObject(r);
	r = rscript_command(rc, "NOSUCHCOMMAND", NULL); /* an error reply comes back as is */
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);

	const char *w = "w";
	assert_int_equal(rscript_append(rc, "DEL", w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w,
					w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w,
					w, w, w, w, w, w, w, w, NULL),
			 REDIS_ERR); /* 49 words */
	r = rscript_command(rc, "EXISTS", "k:odd", NULL);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
}

/* ---- limits_customer pipelined ------------------------------------------ */

static struct message customer_msg(const char *channel, const char *user, const char *id)
{
	struct message m;
	memset(&m, 0, sizeof m);
	snprintf(m.channel, sizeof m.channel, "%s", channel);
	snprintf(m.channel_user_id, sizeof m.channel_user_id, "%s", user);
	snprintf(m.conversation_id, sizeof m.conversation_id, "%s:%s", channel, user);
	snprintf(m.message_id, sizeof m.message_id, "%s", id);
	return m;
}

static long long window_size(const char *user)
{
	char key[128];
	snprintf(key, sizeof key, "rd:limit:{test:%s}", user);
	redisReply *r = rscript_command(rc, "SCARD", key, NULL);
	assert_non_null(r);
	long long n = r->integer;
	freeReplyObject(r);
	return n;
}

/* The count shares a pipeline with other commands (gateway/worker.c sends
 * it right behind the script that takes the conversation's lock): replies
 * stay in step; it counts only while the guard (that lock) is held; a
 * script Redis does not know yet is reported, not run, and runs blocking
 * afterwards; verdicts are the blocking call's, per message id. */
static void test_limits_pipelined(void **state)
{
	(void)state;
	struct message m1 = customer_msg("test", "u1", "m1"), m2 = customer_msg("test", "u1", "m2"),
		       m3 = customer_msg("test", "u1", "m3"), m4 = customer_msg("test", "u1", "m4");
	const struct limits_guard g = { "rd:lock:{test:u1}", "w0" };
	enum limit_verdict v = LIMIT_OVER;

	freeReplyObject(cmd("SCRIPT FLUSH"));
	assert_int_equal(rscript_append(rc, "SET", g.key, "w0", NULL), REDIS_OK); /* the lock */
	assert_int_equal(limits_customer_append(rc, &m1, 2, &g), 1);
	assert_int_equal(rscript_append(rc, "SET", "k:after", "1", NULL), REDIS_OK);
	redisReply *r = NULL;
	assert_int_equal(redisGetReply(rc, (void **)&r), REDIS_OK);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	assert_int_equal(limits_customer_read(rc, &v), RD_ENOTFOUND); /* NOSCRIPT: not counted */
	assert_int_equal(redisGetReply(rc, (void **)&r), REDIS_OK);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	assert_int_equal(window_size("u1"), 0);
	assert_int_equal(limits_customer(rc, &m1, 2, &g, &v), RD_OK); /* loads the script */
	assert_int_equal(v, LIMIT_OK);

	/* budget 2: m1 (replayed), m2 within; m3 over and told; m4 over, quiet */
	struct message *ms[] = { &m1, &m2, &m3, &m4, &m3 };
	enum limit_verdict want[] = { LIMIT_OK, LIMIT_OK, LIMIT_OVER_NOTIFY, LIMIT_OVER, LIMIT_OVER_NOTIFY };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(limits_customer_append(rc, ms[i], 2, &g), 1);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(limits_customer_read(rc, &v), RD_OK);
		assert_int_equal(v, want[i]);
	}
	assert_int_equal(window_size("u1"), 2);

	/* someone else's lock, or none: nothing counted, whatever the budget */
	const struct limits_guard other = { g.key, "w1" };
	struct message n1 = customer_msg("test", "u2", "n1");
	assert_int_equal(limits_customer(rc, &n1, 2, &other, &v), RD_EBUSY);
	freeReplyObject(cmd("DEL %s", g.key));
	assert_int_equal(limits_customer_append(rc, &n1, 2, &g), 1);
	assert_int_equal(limits_customer_read(rc, &v), RD_EBUSY);
	assert_int_equal(window_size("u2"), 0);

	/* not a customer's message, or no budget: nothing queued */
	struct message sys = customer_msg("system", "redress", "s1");
	assert_int_equal(limits_customer_append(rc, &sys, 2, &g), 0);
	assert_int_equal(limits_customer_append(rc, &m4, 0, &g), 0);
	r = rscript_command(rc, "PING", NULL); /* the next reply is PING's */
	assert_non_null(r);
	assert_string_equal(r->str, "PONG");
	freeReplyObject(r);
}

/* ---- trimming handled stream entries (gateway/trim.h) ---------------------- */

/* XADD stream with the explicit id "ms-0". */
static void add_at(const char *stream, long long ms)
{
	freeReplyObject(cmd("XADD %s %lld-0 f v", stream, ms));
}

static long long xlen(const char *stream)
{
	redisReply *r = cmd("XLEN %s", stream);
	long long n = r->integer;
	freeReplyObject(r);
	return n;
}

/* The floor trim_floor() finds with nothing kept for time (keep 0 ms at
 * now 10^6): "" when there is none. */
static const char *floor_now(const char *stream)
{
	static char out[48];
	out[0] = '\0';
	int f = trim_floor(rc, stream, 0, 1000000, out, sizeof out);
	assert_true(f >= 0);
	return f ? out : "";
}

static void test_trim_floor(void **state)
{
	(void)state;
	assert_string_equal(floor_now("s"), ""); /* no stream */
	for (long long ms = 1; ms <= 10; ms++)
		add_at("s", ms);
	assert_string_equal(floor_now("s"), ""); /* no group: nobody read anything */
	freeReplyObject(cmd("XGROUP CREATE s g 0"));
	assert_string_equal(floor_now("s"), ""); /* nothing given yet */
	freeReplyObject(cmd("XREADGROUP GROUP g c COUNT 4 STREAMS s >")); /* 1..4 pending */
	assert_string_equal(floor_now("s"), "1-0");
	freeReplyObject(cmd("XACK s g 1-0 2-0 4-0"));
	assert_string_equal(floor_now("s"), "3-0"); /* 3 still pending; 4 acked after it */
	freeReplyObject(cmd("XACK s g 3-0"));
	assert_string_equal(floor_now("s"), "4-1"); /* all given acked; 5.. never read */
	/* a second group that is further behind holds the floor back */
	freeReplyObject(cmd("XGROUP CREATE s g2 0"));
	assert_string_equal(floor_now("s"), "");
	freeReplyObject(cmd("XREADGROUP GROUP g2 c COUNT 2 STREAMS s >"));
	freeReplyObject(cmd("XACK s g2 1-0 2-0"));
	assert_string_equal(floor_now("s"), "2-1");
	/* time: only entries older than now - keep */
	char out[48];
	assert_int_equal(trim_floor(rc, "s", 999999, 1000000, out, sizeof out), 1);
	assert_string_equal(out, "1-0");
	assert_int_equal(trim_floor(rc, "s", 1000000, 1000000, out, sizeof out), 0);
	/* not a stream */
	freeReplyObject(cmd("SET k v"));
	assert_int_equal(trim_floor(rc, "k", 0, 1000000, out, sizeof out), -1);
}

static void test_trim_stream(void **state)
{
	(void)state;
	/* small macro nodes, so that MINID ~ trims at this scale */
	freeReplyObject(cmd("CONFIG SET stream-node-max-entries 2"));
	for (long long ms = 1; ms <= 20; ms++)
		add_at("s", ms);
	freeReplyObject(cmd("XGROUP CREATE s g 0"));
	freeReplyObject(cmd("XREADGROUP GROUP g c COUNT 12 STREAMS s >")); /* 1..12 */
	for (long long ms = 1; ms <= 12; ms++)
		if (ms != 9)
			freeReplyObject(cmd("XACK s g %lld-0", ms));
	/* 9 pending: 1..8 may go, nothing from 9 on */
	assert_int_equal(trim_stream(rc, "s", 0, 1000000, 10), 8);
	redisReply *r = cmd("XRANGE s - + COUNT 1");
	assert_string_equal(r->element[0]->element[0]->str, "9-0");
	freeReplyObject(r);
	assert_int_equal(xlen("s"), 12);
	/* handled, but younger than the retention: kept */
	freeReplyObject(cmd("XACK s g 9-0"));
	assert_int_equal(trim_stream(rc, "s", 1000000 - 10, 1000000, 10), 0);
	assert_int_equal(xlen("s"), 12);
	/* the rest of what was handled goes; never-read 13..20 stay */
	assert_int_equal(trim_stream(rc, "s", 0, 1000000, 10), 4);
	assert_int_equal(xlen("s"), 8);
	/* nothing to trim: nothing removed, no error */
	assert_int_equal(trim_stream(rc, "none", 0, 1000000, 10), 0);
	freeReplyObject(cmd("CONFIG SET stream-node-max-entries 100"));
}

static void test_consumer_gone(void **state)
{
	(void)state;
	char self[96], name[160];
	long me = (long)getpid();
	unsigned long ns = consumer_pidns();
	assert_true(ns != 0); /* Linux with /proc */
	consumer_instance(self, sizeof self, "my-host", ns, me, 0x1a2b);
	snprintf(name, sizeof name, "my-host-%lx-%ld-1a2b", ns, me);
	assert_string_equal(self, name);
	/* a pid that ran here and was reaped: gone */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	snprintf(name, sizeof name, "my-host-%lx-%ld-99-w1", ns, (long)child);
	assert_int_equal(consumer_gone(name, self, me), 1);
	snprintf(name, sizeof name, "my-host-%lx-%ld-99-s0", ns, (long)child);
	assert_int_equal(consumer_gone(name, self, me), 1);
	/* the same dead pid, another host's or another pid namespace's: unknown */
	snprintf(name, sizeof name, "other-%lx-%ld-99-w1", ns, (long)child);
	assert_int_equal(consumer_gone(name, self, me), 0);
	snprintf(name, sizeof name, "host-%lx-%ld-99-w1", ns, (long)child);
	assert_int_equal(consumer_gone(name, self, me), 0);
	snprintf(name, sizeof name, "my-host-%lx-%ld-99-w1", ns + 1, (long)child);
	assert_int_equal(consumer_gone(name, self, me), 0);
	/* a live process (our parent) */
	snprintf(name, sizeof name, "my-host-%lx-%ld-99-w0", ns, (long)getppid());
	assert_int_equal(consumer_gone(name, self, me), 0);
	/* ours */
	snprintf(name, sizeof name, "%s-w0", self);
	assert_int_equal(consumer_gone(name, self, me), 0);
	/* our pid under another start: the process before this one */
	snprintf(name, sizeof name, "my-host-%lx-%ld-1a2a-w0", ns, me);
	assert_int_equal(consumer_gone(name, self, me), 1);
	/* other shapes: an older version's "host-pid-w0", no kind, garbage */
	snprintf(name, sizeof name, "my-host-%ld-w0", (long)child);
	assert_int_equal(consumer_gone(name, self, me), 0);
	snprintf(name, sizeof name, "my-host-%lx-%ld-99", ns, (long)child);
	assert_int_equal(consumer_gone(name, self, me), 0);
	assert_int_equal(consumer_gone("", self, me), 0);
	assert_int_equal(consumer_gone("-w0", self, me), 0);
	snprintf(name, sizeof name, "my-host-%lx-0-99-w0", ns);
	assert_int_equal(consumer_gone(name, self, me), 0);
	/* the instance of a consumer: where its liveness mark is */
	char inst[96];
	snprintf(name, sizeof name, "%s-s12", self);
	assert_int_equal(consumer_instance_of(name, inst, sizeof inst), 1);
	assert_string_equal(inst, self);
	assert_int_equal(consumer_instance_of(name, inst, strlen(self)), 0); /* no room */
	assert_int_equal(consumer_instance_of("my-host-123-w0", inst, sizeof inst), 0);
	/* without a namespace of our own, nobody is taken for gone */
	consumer_instance(self, sizeof self, "my-host", 0, me, 0x1a2b);
	snprintf(name, sizeof name, "my-host-0-%ld-99-w1", (long)child);
	assert_int_equal(consumer_gone(name, self, me), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mandate_within_caps, flush_db),
		cmocka_unit_test_setup(test_mandate_same_id_once, flush_db),
		cmocka_unit_test_setup(test_mandate_over_per_refund, flush_db),
		cmocka_unit_test_setup(test_mandate_over_daily, flush_db),
		cmocka_unit_test_setup(test_mandate_no_cap, flush_db),
		cmocka_unit_test_setup(test_mandate_release, flush_db),
		cmocka_unit_test_setup(test_mandate_commit_then_release, flush_db),
		cmocka_unit_test_setup(test_mandate_race, flush_db),
		cmocka_unit_test_setup(test_redis_down, flush_db),
		cmocka_unit_test_setup(test_sandbox_refund_idempotent, flush_db),
		cmocka_unit_test_setup(test_sandbox_amount_too_large, flush_db),
		cmocka_unit_test_setup(test_orders_round_trip, flush_db),
		cmocka_unit_test_setup(test_orders_record_refund, flush_db),
		cmocka_unit_test_setup(test_orders_reput_keeps_refunded, flush_db),
		cmocka_unit_test_setup(test_creditnote_numbering, flush_db),
		cmocka_unit_test_setup(test_creditnote_race, flush_db),
		cmocka_unit_test_setup(test_review_ticket, flush_db),
		cmocka_unit_test(test_review_redact),
		cmocka_unit_test_setup(test_rscript_words, flush_db),
		cmocka_unit_test_setup(test_limits_pipelined, flush_db),
		cmocka_unit_test_setup(test_trim_floor, flush_db),
		cmocka_unit_test_setup(test_trim_stream, flush_db),
		cmocka_unit_test(test_consumer_gone),
	};
	return cmocka_run_group_tests_name("tools", tests, start_redis, stop_redis);
}
