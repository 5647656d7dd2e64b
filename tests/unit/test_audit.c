/* test_audit.c — agent/audit.c: the hash (known answers), the pure chain
 * check, and, when redis-server is on PATH, append/verify against a real
 * throw-away Redis on a free port (skipped otherwise). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "agent/audit.h"
#include "common/log.h"

/* ---- audit_hash -------------------------------------------------------- */

static void hex32(const unsigned char d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* SHA-256 of the documented concatenation, computed here without audit.c. */
static void ref_hash(const char *prev, long long seq, long long ts, const char *kind,
		     const char *conv, const char *data, char out[65])
{
	char *s = NULL;
	unsigned char d[32];
	int n = asprintf(&s, "%s\n%lld\n%lld\n%s\n%s\n%s", prev, seq, ts, kind, conv, data);
	assert_true(n > 0);
	assert_int_equal(mbedtls_sha256_ret((const unsigned char *)s, (size_t)n, d, 0), 0);
	hex32(d, out);
	free(s);
}

static void test_hash_known_answer(void **state)
{
	(void)state;
	const char *data = "{\"order\":\"1001\",\"amount\":\"R$ 186,00\",\"note\":\"a\xC3\xA7\xC3\xA3o\"}";
	char got[65], want[65];

	/* fixed value, from Python hashlib over the same text */
	audit_hash(AUDIT_GENESIS, 1, 1700000000000LL, "refund.executed", "conv-1", data, got);
	assert_string_equal(got, "8aa5c0e2de563c0f2d31118c062b78991db56a82987a390b1ed96c505a447b11");
	ref_hash(AUDIT_GENESIS, 1, 1700000000000LL, "refund.executed", "conv-1", data, want);
	assert_string_equal(got, want);

	audit_hash(AUDIT_GENESIS, 1, 0, "", "", "", got);
	assert_string_equal(got, "701d01b6583b8051e61b6f8c6e8a5949abf8c86aa668672e55508a27e5cd3703");
	audit_hash(AUDIT_GENESIS, 1, 0, NULL, NULL, NULL, got); /* NULL reads as "" */
	assert_string_equal(got, "701d01b6583b8051e61b6f8c6e8a5949abf8c86aa668672e55508a27e5cd3703");

	ref_hash(got, 2, 1700000000123LL, "k", "c", "{\n \"multi\": \"line\"\n}", want);
	audit_hash(got, 2, 1700000000123LL, "k", "c", "{\n \"multi\": \"line\"\n}", got);
	assert_string_equal(got, want);
}

/* ---- audit_check_entry on an in-memory chain --------------------------- */

struct ent {
	char id[32], seq[24], ts[24], kind[32], conv[32], data[96], prev[65], hash[65];
};

static void rehash(struct ent *e)
{
	audit_hash(e->prev, atoll(e->seq), atoll(e->ts), e->kind, e->conv, e->data, e->hash);
}

static void make_chain(struct ent *e, int n)
{
	for (int i = 0; i < n; i++) {
		memset(&e[i], 0, sizeof e[i]);
		snprintf(e[i].id, sizeof e[i].id, "1700000000%03d-0", i);
		snprintf(e[i].seq, sizeof e[i].seq, "%d", i + 1);
		snprintf(e[i].ts, sizeof e[i].ts, "%lld", 1700000000000LL + i);
		snprintf(e[i].kind, sizeof e[i].kind, "%s", i % 2 ? "refund.executed" : "order.verified");
		snprintf(e[i].conv, sizeof e[i].conv, "conv-%d", i / 2);
		snprintf(e[i].data, sizeof e[i].data, "{\"step\":%d,\"amount\":\"R$ 1%d,00\"}", i, i);
		snprintf(e[i].prev, sizeof e[i].prev, "%s", i ? e[i - 1].hash : AUDIT_GENESIS);
		rehash(&e[i]);
	}
}

static struct audit_entry_view view(const struct ent *e)
{
	return (struct audit_entry_view){ .id = e->id, .seq = e->seq, .ts = e->ts,
					  .kind = e->kind, .conv = e->conv, .data = e->data,
					  .prev = e->prev, .hash = e->hash };
}

/* Walk like audit_verify does. Returns the index of the first bad entry or
 * -1; reason gets the check's reason. */
static int walk(const struct audit_entry_view *v, int n, char *reason, size_t rn)
{
	const char *prev = AUDIT_GENESIS;
	for (int i = 0; i < n; i++) {
		if (!audit_check_entry(prev, i + 1, &v[i], reason, rn))
			return i;
		prev = v[i].hash;
	}
	return -1;
}

static int walk_ents(const struct ent *e, int n, char *reason, size_t rn)
{
	struct audit_entry_view v[8];
	for (int i = 0; i < n; i++)
		v[i] = view(&e[i]);
	return walk(v, n, reason, rn);
}

static void test_chain_good(void **state)
{
	(void)state;
	struct ent e[5];
	char reason[160] = "x";
	make_chain(e, 5);
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), -1);
	assert_string_equal(reason, "");
	assert_string_equal(e[0].prev, AUDIT_GENESIS);
	struct audit_entry_view v = view(&e[0]);
	assert_int_equal(audit_check_entry(NULL, 1, &v, NULL, 0), 1); /* NULL prev = genesis */
}

static void test_chain_edited_data(void **state)
{
	(void)state;
	struct ent e[5];
	char reason[160];
	make_chain(e, 5);
	e[2].data[2] = 'X';
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 2);
	assert_string_equal(reason, "hash mismatch");

	/* rehashing the edited entry moves the break to the next one */
	rehash(&e[2]);
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 3);
	assert_string_equal(reason, "prev does not match the previous entry's hash");

	make_chain(e, 5);
	snprintf(e[4].kind, sizeof e[4].kind, "refund.denied");
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 4);
	assert_string_equal(reason, "hash mismatch");
	make_chain(e, 5);
	snprintf(e[0].ts, sizeof e[0].ts, "1700000009999");
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 0);
	assert_string_equal(reason, "hash mismatch");
}

static void test_chain_edited_seq(void **state)
{
	(void)state;
	struct ent e[5];
	char reason[160];
	make_chain(e, 5);
	snprintf(e[3].seq, sizeof e[3].seq, "9");
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 3);
	assert_string_equal(reason, "seq 9, expected 4");

	make_chain(e, 5);
	snprintf(e[1].seq, sizeof e[1].seq, "02"); /* same number, not the hashed text */
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 1);
	assert_string_equal(reason, "bad seq \"02\"");
	make_chain(e, 5);
	snprintf(e[1].ts, sizeof e[1].ts, "-1");
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 1);
	assert_string_equal(reason, "bad ts \"-1\"");
}

static void test_chain_wrong_prev(void **state)
{
	(void)state;
	struct ent e[5];
	char reason[160];
	make_chain(e, 5);
	/* a forged entry with a self-consistent hash over the wrong prev */
	snprintf(e[1].prev, sizeof e[1].prev, "%s", e[3].hash);
	rehash(&e[1]);
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 1);
	assert_string_equal(reason, "prev does not match the previous entry's hash");

	make_chain(e, 5);
	snprintf(e[0].prev, sizeof e[0].prev, "%s", e[0].hash); /* first must be genesis */
	rehash(&e[0]);
	assert_int_equal(walk_ents(e, 5, reason, sizeof reason), 0);
	assert_string_equal(reason, "prev does not match the previous entry's hash");
}

static void test_chain_reordered(void **state)
{
	(void)state;
	struct ent e[5];
	struct audit_entry_view v[5];
	char reason[160];
	make_chain(e, 5);
	for (int i = 0; i < 5; i++)
		v[i] = view(&e[i]);
	struct audit_entry_view t = v[2];
	v[2] = v[3];
	v[3] = t;
	int bad = walk(v, 5, reason, sizeof reason);
	assert_int_equal(bad, 2);
	assert_string_equal(v[bad].id, e[3].id);
	assert_string_equal(reason, "seq 4, expected 3");

	/* a dropped entry in the middle */
	for (int i = 0; i < 4; i++)
		v[i] = view(&e[i < 2 ? i : i + 1]);
	bad = walk(v, 4, reason, sizeof reason);
	assert_int_equal(bad, 2);
	assert_string_equal(v[bad].id, e[3].id);
}

static void test_chain_fields(void **state)
{
	(void)state;
	struct ent e[5];
	char reason[160];
	make_chain(e, 5);
	struct audit_entry_view v = view(&e[0]);
	v.hash = NULL;
	assert_int_equal(audit_check_entry(AUDIT_GENESIS, 1, &v, reason, sizeof reason), 0);
	assert_string_equal(reason, "missing field hash");
	v = view(&e[0]);
	v.conv = NULL;
	assert_int_equal(audit_check_entry(AUDIT_GENESIS, 1, &v, reason, sizeof reason), 0);
	assert_string_equal(reason, "missing field conv");

	/* moving text across the "\n" separators keeps the hash: refused */
	char h1[65], h2[65];
	audit_hash(AUDIT_GENESIS, 1, 5, "a\nb", "c", "{}", h1);
	audit_hash(AUDIT_GENESIS, 1, 5, "a", "b\nc", "{}", h2);
	assert_string_equal(h1, h2);
	v = (struct audit_entry_view){ .id = "1-0", .seq = "1", .ts = "5", .kind = "a",
				       .conv = "b\nc", .data = "{}", .prev = AUDIT_GENESIS,
				       .hash = h2 };
	assert_int_equal(audit_check_entry(AUDIT_GENESIS, 1, &v, reason, sizeof reason), 0);
	assert_string_equal(reason, "conv contains a newline");
	v.kind = "a\nb";
	v.conv = "c";
	assert_int_equal(audit_check_entry(AUDIT_GENESIS, 1, &v, reason, sizeof reason), 0);
	assert_string_equal(reason, "kind contains a newline");
}

/* ---- a throw-away redis-server ----------------------------------------- */

static struct {
	pid_t pid;
	int port;
	char dir[64];
	redisContext *rc;
} srv;

static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[1024];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
		if (n && access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int redis_stop(void **state)
{
	(void)state;
	if (srv.rc)
		redisFree(srv.rc);
	srv.rc = NULL;
	if (srv.pid > 0) {
		kill(srv.pid, SIGTERM);
		waitpid(srv.pid, NULL, 0);
		srv.pid = 0;
	}
	if (srv.dir[0])
		rm_dir(srv.dir);
	srv.dir[0] = '\0';
	return 0;
}

/* Start redis-server when it is installed; leave srv.rc NULL (tests skip)
 * when it is not. A server that is there but will not start is a failure. */
static int redis_start(void **state)
{
	char port[16];
	(void)state;
	if (!on_path("redis-server"))
		return 0;
	snprintf(srv.dir, sizeof srv.dir, "/tmp/rd_audit_XXXXXX");
	if (!mkdtemp(srv.dir) || (srv.port = free_port()) < 0)
		return -1;
	snprintf(port, sizeof port, "%d", srv.port);
	srv.pid = fork();
	if (srv.pid < 0)
		return -1;
	if (srv.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--save", "", "--appendonly", "no", "--dir", srv.dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 250; i++) { /* up to 5 s */
		if (waitpid(srv.pid, NULL, WNOHANG) == srv.pid) {
			srv.pid = 0;
			break;
		}
		struct timeval tv = { 0, 200000 };
		redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);
		if (c && !c->err) {
			redisReply *r = redisCommand(c, "PING");
			int up = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
			if (r)
				freeReplyObject(r);
			if (up) {
				srv.rc = c;
				return 0;
			}
		}
		if (c)
			redisFree(c);
		sleep_ms(20);
	}
	fprintf(stderr, "redis-server did not start on port %d\n", srv.port);
	redis_stop(state);
	return -1;
}

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(srv.rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	return r;
}

static long long cmd_int(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(srv.rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	long long v = r->integer;
	freeReplyObject(r);
	return v;
}

static void fresh(void)
{
	if (!srv.rc)
		skip();
	freeReplyObject(cmd("FLUSHALL"));
}

static void append3(char ids[3][32], char hashes[3][65])
{
	static const char *kinds[] = { "order.verified", "refund.executed", "creditnote.issued" };
	for (int i = 0; i < 3; i++) {
		char data[64];
		snprintf(data, sizeof data, "{\"order\":\"100%d\",\"n\":\"a\xC3\xA7\xC3\xA3o\"}", i);
		assert_int_equal(audit_append(srv.rc, NULL, kinds[i], "conv-1", data, ids[i],
					      hashes[i]),
				 RD_OK);
	}
}

static void test_redis_append_verify(void **state)
{
	(void)state;
	struct audit_verify_result r;
	char ids[3][32], hashes[3][65];
	fresh();
	freeReplyObject(cmd("SCRIPT FLUSH")); /* first append takes the NOSCRIPT path */
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.checked, 0);

	append3(ids, hashes);
	assert_string_not_equal(ids[0], ids[1]);
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.checked, 3);
	assert_string_equal(r.bad_id, "");

	redisReply *h = cmd("HMGET rd:audit:head seq hash");
	assert_string_equal(h->element[0]->str, "3");
	assert_string_equal(h->element[1]->str, hashes[2]);
	freeReplyObject(h);
	redisReply *x = cmd("XRANGE %s - + COUNT 1", AUDIT_STREAM);
	assert_int_equal(x->elements, 1);
	assert_string_equal(x->element[0]->element[0]->str, ids[0]);
	redisReply *f = x->element[0]->element[1];
	assert_int_equal(f->elements, 14);
	assert_string_equal(f->element[0]->str, "seq");
	assert_string_equal(f->element[1]->str, "1");
	assert_string_equal(f->element[10]->str, "prev");
	assert_string_equal(f->element[11]->str, AUDIT_GENESIS);
	assert_string_equal(f->element[13]->str, hashes[0]);
	freeReplyObject(x);

	assert_int_equal(audit_append(srv.rc, NULL, "", "c", "{}", NULL, NULL), RD_EINVAL);
	assert_int_equal(audit_append(srv.rc, NULL, "k\nx", "c", "{}", NULL, NULL), RD_EINVAL);
}

static void test_redis_idempotent(void **state)
{
	(void)state;
	char id1[32], id2[32], h1[65], h2[65];
	struct audit_verify_result r;
	fresh();
	assert_int_equal(audit_append(srv.rc, "conv-9:refund:1", "refund.executed", "conv-9",
				      "{\"a\":1}", id1, h1),
			 RD_OK);
	assert_int_equal(audit_append(srv.rc, "conv-9:refund:1", "refund.executed", "conv-9",
				      "{\"a\":2}", id2, h2),
			 RD_OK);
	assert_string_equal(id1, id2);
	assert_string_equal(h1, h2);
	assert_int_equal(cmd_int("XLEN %s", AUDIT_STREAM), 1);
	/* no key, or "": every call appends */
	assert_int_equal(audit_append(srv.rc, "", "k", "c", "{}", NULL, NULL), RD_OK);
	assert_int_equal(audit_append(srv.rc, "", "k", "c", "{}", NULL, NULL), RD_OK);
	assert_int_equal(audit_append(srv.rc, "conv-9:refund:2", "k", "c", "{}", id2, NULL), RD_OK);
	assert_string_not_equal(id1, id2);
	assert_int_equal(cmd_int("XLEN %s", AUDIT_STREAM), 4);
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.checked, 4);
}

/* Rebuild the stream with the same ids, changing entry 2's data. */
static void test_redis_tampered(void **state)
{
	(void)state;
	char ids[3][32], hashes[3][65];
	struct audit_verify_result r;
	fresh();
	append3(ids, hashes);
	redisReply *all = cmd("XRANGE %s - +", AUDIT_STREAM);
	assert_int_equal(all->elements, 3);
	freeReplyObject(cmd("DEL %s", AUDIT_STREAM));
	for (size_t i = 0; i < all->elements; i++) {
		redisReply *e = all->element[i], *f = e->element[1];
		const char *argv[32];
		size_t lens[32], n = 0;
		argv[n] = "XADD", lens[n++] = 4;
		argv[n] = AUDIT_STREAM, lens[n++] = strlen(AUDIT_STREAM);
		argv[n] = e->element[0]->str, lens[n++] = e->element[0]->len;
		for (size_t k = 0; k < f->elements; k += 2) {
			argv[n] = f->element[k]->str, lens[n++] = f->element[k]->len;
			if (i == 1 && strcmp(f->element[k]->str, "data") == 0)
				argv[n] = "{\"order\":\"9999\"}", lens[n] = strlen(argv[n]), n++;
			else
				argv[n] = f->element[k + 1]->str, lens[n++] = f->element[k + 1]->len;
		}
		redisReply *x = redisCommandArgv(srv.rc, (int)n, argv, lens);
		assert_non_null(x);
		assert_int_equal(x->type, REDIS_REPLY_STRING);
		assert_string_equal(x->str, ids[i]);
		freeReplyObject(x);
	}
	freeReplyObject(all);
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 0);
	assert_int_equal(r.checked, 1);
	assert_string_equal(r.bad_id, ids[1]);
	assert_string_equal(r.reason, "hash mismatch");

	/* an extra field is not covered by the hash: refused too */
	fresh();
	append3(ids, hashes);
	freeReplyObject(cmd("XADD %s * seq 4 ts 1 kind k conv c data {} prev %s hash %s extra 1",
			    AUDIT_STREAM, hashes[2], hashes[2]));
	freeReplyObject(cmd("HSET rd:audit:head seq 4"));
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.reason, "unexpected field \"extra\"");
	assert_true(r.bad_id[0] != '\0');
}

static void test_redis_truncated(void **state)
{
	(void)state;
	char ids[3][32], hashes[3][65];
	struct audit_verify_result r;
	fresh();
	append3(ids, hashes);
	assert_int_equal(cmd_int("XDEL %s %s", AUDIT_STREAM, ids[2]), 1);
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 0);
	assert_int_equal(r.checked, 2);
	assert_string_equal(r.bad_id, "");
	assert_string_equal(r.reason,
			    "truncated: the head is at seq 3 but the stream ends at seq 2");

	/* the head rolled back by one: the stream goes past it */
	fresh();
	append3(ids, hashes);
	freeReplyObject(cmd("HSET rd:audit:head seq 2 hash %s", hashes[1]));
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.reason, "the stream goes past the head (seq 3, head at 2)");

	/* the head deleted: appending would fork the chain, so it refuses */
	fresh();
	append3(ids, hashes);
	freeReplyObject(cmd("DEL rd:audit:head"));
	assert_int_equal(audit_append(srv.rc, NULL, "k", "c", "{}", NULL, NULL), RD_EREDIS);
	assert_int_equal(cmd_int("XLEN %s", AUDIT_STREAM), 3);
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 0);
}

/* Four processes append at once: one chain, past one XRANGE page. */
static void test_redis_concurrent(void **state)
{
	(void)state;
	enum { WRITERS = 4, EACH = 160 };
	pid_t kids[WRITERS];
	struct audit_verify_result r;
	fresh();
	for (int w = 0; w < WRITERS; w++) {
		kids[w] = fork();
		assert_true(kids[w] >= 0);
		if (kids[w] == 0) {
			int bad = 0;
			redisContext *c = redisConnect("127.0.0.1", srv.port);
			for (int i = 0; c && !c->err && i < EACH && !bad; i++) {
				char data[48], ikey[32];
				snprintf(data, sizeof data, "{\"writer\":%d,\"i\":%d}", w, i);
				snprintf(ikey, sizeof ikey, "w%d:%d", w, i);
				bad = audit_append(c, ikey, "test.concurrent", "c", data, NULL,
						   NULL) != RD_OK;
			}
			bad |= !c || c->err;
			if (c)
				redisFree(c);
			_exit(bad);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;
		assert_int_equal(waitpid(kids[w], &st, 0), kids[w]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.checked, WRITERS * EACH);
}

/* Calls of one command since the last CONFIG RESETSTAT. */
static long long calls(const char *command)
{
	char want[64];
	redisReply *r = cmd("INFO commandstats");
	snprintf(want, sizeof want, "cmdstat_%s:calls=", command);
	const char *p = strstr(r->str, want);
	long long n = p ? strtoll(p + strlen(want), NULL, 10) : 0;
	freeReplyObject(r);
	return n;
}

/* An append trusts this process's last view of the head: one round trip, no
 * read of the head; after another writer moved it, the script's answer
 * carries the new head and the second try lands. */
static void test_redis_head_cached(void **state)
{
	(void)state;
	struct audit_verify_result r;
	fresh();
	assert_int_equal(audit_append(srv.rc, "h1", "test.head", "c", "{}", NULL, NULL), RD_OK);
	freeReplyObject(cmd("CONFIG RESETSTAT"));
	assert_int_equal(audit_append(srv.rc, "h2", "test.head", "c", "{}", NULL, NULL), RD_OK);
	assert_int_equal(audit_append(srv.rc, "h3", "test.head", "c", "{}", NULL, NULL), RD_OK);
	assert_int_equal(calls("hmget"), 0);
	assert_int_equal(calls("evalsha"), 2);

	pid_t kid = fork(); /* another process writes: the head moves under this view */
	assert_true(kid >= 0);
	if (kid == 0) {
		redisContext *c = redisConnect("127.0.0.1", srv.port);
		int bad = !c || c->err ||
			  audit_append(c, "other", "test.head", "c", "{}", NULL, NULL) != RD_OK;
		_exit(bad);
	}
	int st;
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	freeReplyObject(cmd("CONFIG RESETSTAT"));
	assert_int_equal(audit_append(srv.rc, "h4", "test.head", "c", "{}", NULL, NULL), RD_OK);
	assert_int_equal(calls("hmget"), 0);
	assert_int_equal(calls("evalsha"), 2); /* stale, then right */
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.checked, 5);
}

struct appender {
	int n, failed;
	char tag;
};

static void *append_many(void *arg)
{
	struct appender *a = arg;
	redisContext *c = redisConnect("127.0.0.1", srv.port);
	for (int i = 0; i < a->n && c && !c->err; i++) {
		char ikey[32];
		snprintf(ikey, sizeof ikey, "t%c-%d", a->tag, i);
		a->failed += audit_append(c, ikey, "test.threads", "c", "{}", NULL, NULL) != RD_OK;
	}
	if (!c || c->err)
		a->failed++;
	if (c)
		redisFree(c);
	return NULL;
}

/* Two threads of one process (two agent workers) append at once: they take
 * turns on the process's view of the head, so no append loses a round to
 * the other — every append is one EVALSHA — and the chain is whole. With a
 * view per thread, each made the other's stale on nearly every append. */
static void test_redis_threads_take_turns(void **state)
{
	(void)state;
	struct audit_verify_result r;
	fresh();
	assert_int_equal(audit_append(srv.rc, "first", "test.threads", "c", "{}", NULL, NULL), RD_OK);
	freeReplyObject(cmd("CONFIG RESETSTAT"));
	struct appender a[2] = { { 300, 0, 'a' }, { 300, 0, 'b' } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, append_many, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(a[0].failed + a[1].failed, 0);
	assert_int_equal(calls("evalsha"), 600);
	assert_int_equal(calls("hmget"), 0);
	assert_int_equal(audit_verify(srv.rc, &r), RD_OK);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.checked, 601);
}

int main(void)
{
	log_threshold = LOG_ERROR;
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_hash_known_answer),
		cmocka_unit_test(test_chain_good),
		cmocka_unit_test(test_chain_edited_data),
		cmocka_unit_test(test_chain_edited_seq),
		cmocka_unit_test(test_chain_wrong_prev),
		cmocka_unit_test(test_chain_reordered),
		cmocka_unit_test(test_chain_fields),
	};
	const struct CMUnitTest redis[] = {
		cmocka_unit_test(test_redis_append_verify),
		cmocka_unit_test(test_redis_idempotent),
		cmocka_unit_test(test_redis_tampered),
		cmocka_unit_test(test_redis_truncated),
		cmocka_unit_test(test_redis_concurrent),
		cmocka_unit_test(test_redis_head_cached),
		cmocka_unit_test(test_redis_threads_take_turns),
	};
	int failed = cmocka_run_group_tests_name("audit (pure)", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("audit (redis)", redis, redis_start, redis_stop);
	return failed ? 1 : 0;
}
