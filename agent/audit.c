/* audit.c — the hash-chained audit stream (see audit.h).
 *
 * Append: read the head, hash the new entry over it, and let one Lua script
 * append only if the head has not moved meanwhile (else retry). Verify: walk
 * the stream in pages, re-hash every entry with audit_check_entry, then
 * check the head. No state is shared between calls: one redisContext per
 * thread is all the caller has to provide. */
#include "agent/audit.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>

#include "agent/rscript.h"
#include "common/log.h"
#include "common/util.h"

#define AUDIT_HEAD "rd:audit:head"  /* hash: seq, hash of the last entry */
#define AUDIT_KEYS "rd:audit:keys"  /* hash: idempotency key → stream id */
#define AUDIT_PAGE 500              /* XRANGE page size in audit_verify */
#define AUDIT_MAX_TRIES 50          /* optimistic appends before giving up */

/* KEYS: stream, head, keys. ARGV: ikey ("" = none), prev, seq, ts, kind,
 * conv, data, hash. Returns {"ok", id} | {"dup", id, hash} | {"retry", seq, hash}
 * (the head it found: the caller's next try needs no read of its own).
 * Refuses to start a second chain when the head is gone but the stream is
 * not (that would fork the log). */
static const char append_lua[] =
	"redis.replicate_commands()\n"
	"local ikey = ARGV[1]\n"
	"if ikey ~= '' then\n"
	"  local id = redis.call('HGET', KEYS[3], ikey)\n"
	"  if id then\n"
	"    local h = ''\n"
	"    local e = redis.call('XRANGE', KEYS[1], id, id)\n"
	"    if e[1] then\n"
	"      local f = e[1][2]\n"
	"      for i = 1, #f, 2 do if f[i] == 'hash' then h = f[i + 1] end end\n"
	"    end\n"
	"    return {'dup', id, h}\n"
	"  end\n"
	"end\n"
	"local head = redis.call('HGET', KEYS[2], 'hash')\n"
	"if not head then\n"
	"  if redis.call('XLEN', KEYS[1]) > 0 then\n"
	"    return redis.error_reply('audit head missing but the stream is not empty')\n"
	"  end\n"
	"  head = '" AUDIT_GENESIS "'\n"
	"end\n"
	"if head ~= ARGV[2] then\n"
	"  return {'retry', redis.call('HGET', KEYS[2], 'seq') or '0', head}\n"
	"end\n"
	"local id = redis.call('XADD', KEYS[1], '*', 'seq', ARGV[3], 'ts', ARGV[4],\n"
	"  'kind', ARGV[5], 'conv', ARGV[6], 'data', ARGV[7], 'prev', ARGV[2], 'hash', ARGV[8])\n"
	"redis.call('HSET', KEYS[2], 'seq', ARGV[3], 'hash', ARGV[8])\n"
	"if ikey ~= '' then redis.call('HSET', KEYS[3], ikey, id) end\n"
	"return {'ok', id}\n";

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void audit_hash(const char *prev, int64_t seq, int64_t ts_ms, const char *kind,
		const char *conv, const char *data, char out[65])
{
	char nums[48];
	int nl = snprintf(nums, sizeof nums, "%" PRId64 "\n%" PRId64 "\n", seq, ts_ms);
	const char *parts[] = { prev ? prev : "", "\n", nums, kind ? kind : "", "\n",
				conv ? conv : "", "\n", data ? data : "" };
	mbedtls_sha256_context c;
	unsigned char d[32];

	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	for (size_t i = 0; i < RD_ARRAY_LEN(parts); i++)
		mbedtls_sha256_update_ret(&c, (const unsigned char *)parts[i],
					  parts[i] == nums ? (size_t)nl : strlen(parts[i]));
	mbedtls_sha256_finish_ret(&c, d);
	mbedtls_sha256_free(&c);
	hex(d, sizeof d, out);
}

/* Canonical non-negative decimal ("0", "42"; not "042", "+1", "1e3"). */
static int parse_dec(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int RD_PRINTF(3, 4) bad(char *reason, size_t n, const char *fmt, ...)
{
	if (reason && n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

int audit_check_entry(const char *expected_prev, int64_t expected_seq,
		      const struct audit_entry_view *e, char *reason, size_t n)
{
	static const char *const names[] = { "seq", "ts", "kind", "conv", "data", "prev", "hash" };
	const char *vals[] = { e->seq, e->ts, e->kind, e->conv, e->data, e->prev, e->hash };
	int64_t seq, ts;
	char h[65];

	if (!expected_prev)
		expected_prev = AUDIT_GENESIS;
	for (size_t i = 0; i < RD_ARRAY_LEN(names); i++)
		if (!vals[i])
			return bad(reason, n, "missing field %s", names[i]);
	if (parse_dec(e->seq, &seq))
		return bad(reason, n, "bad seq \"%.24s\"", e->seq);
	if (seq != expected_seq)
		return bad(reason, n, "seq %" PRId64 ", expected %" PRId64, seq, expected_seq);
	if (parse_dec(e->ts, &ts))
		return bad(reason, n, "bad ts \"%.24s\"", e->ts);
	if (strchr(e->kind, '\n') || strchr(e->conv, '\n'))
		return bad(reason, n, "%s contains a newline", strchr(e->kind, '\n') ? "kind" : "conv");
	if (strcmp(e->prev, expected_prev) != 0)
		return bad(reason, n, "prev does not match the previous entry's hash");
	audit_hash(e->prev, seq, ts, e->kind, e->conv, e->data, h);
	if (strcmp(e->hash, h) != 0)
		return bad(reason, n, "hash mismatch");
	if (reason && n)
		reason[0] = '\0';
	return 1;
}

/* ---- Redis ------------------------------------------------------------ */

static int is_str(const redisReply *r)
{
	return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* The reply of a command, or NULL after logging why (connection error or
 * an error reply; either way RD_EREDIS for the caller). */
static redisReply *checked(redisContext *rc, redisReply *r, const char *what)
{
	if (!r) {
		LOG_E("audit", "redis_error", "%s: %s", what, rc->errstr[0] ? rc->errstr : "no reply");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		LOG_E("audit", "redis_error", "%s: %.200s", what, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Read rd:audit:head. Absent → seq 0, genesis. RD_EREDIS on Redis
 * failure, RD_EPROTO when the head is there but malformed. */
static enum rd_err read_head(redisContext *rc, int64_t *seq, char hash[65])
{
	enum rd_err err = RD_OK;
	redisReply *r = checked(rc, redisCommand(rc, "HMGET %s seq hash", AUDIT_HEAD), "HMGET head");
	if (!r)
		return RD_EREDIS;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		err = RD_EPROTO;
		goto out;
	}
	const redisReply *s = r->element[0], *h = r->element[1];
	if (s->type == REDIS_REPLY_NIL && h->type == REDIS_REPLY_NIL) {
		*seq = 0;
		memcpy(hash, AUDIT_GENESIS, 65);
		goto out;
	}
	if (!is_str(s) || !is_str(h) || h->len != 64 || s->len != strlen(s->str) ||
	    parse_dec(s->str, seq)) {
		err = RD_EPROTO;
		goto out;
	}
	memcpy(hash, h->str, 64);
	hash[64] = '\0';
out:
	freeReplyObject(r);
	return err;
}

static struct rscript append_script = { .name = "audit_append", .src = append_lua };

/* The process's last view of the chain head, and the lock that makes this
 * process's appends one at a time. An append tries the view first and costs
 * one round trip when no other process wrote between (the script checks it,
 * and answers a stale one with the real head). Threads of one process never
 * race each other for the head: with a view per thread, two agent workers
 * each made the other's view stale on every append, and under load a turn
 * could lose 50 rounds in a row (bench/NOTES.md). The lock is held for one
 * round trip per append. */
static pthread_mutex_t head_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int known;
	int64_t seq;
	char hash[65];
} head;

/* audit_append with head_mu held and the arguments checked. */
static enum rd_err append_locked(redisContext *rc, const char *ikey, const char *kind,
				 const char *conv, const char *data, char *id_out, char *hash_out)
{
	char prev[65], hash[65], seqs[24], tss[24];
	const char *sha = rscript_sha(&append_script);

	for (int attempt = 0; attempt < AUDIT_MAX_TRIES; attempt++) {
		if (!head.known) {
			enum rd_err err = read_head(rc, &head.seq, head.hash);
			if (err == RD_EPROTO)
				LOG_E("audit", "head_malformed", "%s is malformed: not appending",
				      AUDIT_HEAD);
			if (err)
				return RD_EREDIS;
			head.known = 1;
		}
		int64_t seq = head.seq;
		memcpy(prev, head.hash, sizeof prev);
		int64_t ts = now_ms();
		audit_hash(prev, seq + 1, ts, kind, conv, data, hash);
		snprintf(seqs, sizeof seqs, "%" PRId64, seq + 1);
		snprintf(tss, sizeof tss, "%" PRId64, ts);

		const char *argv[] = { "EVALSHA", sha, "3", AUDIT_STREAM, AUDIT_HEAD, AUDIT_KEYS,
				       ikey, prev, seqs, tss, kind, conv, data, hash };
		size_t lens[RD_ARRAY_LEN(argv)];
		for (size_t i = 0; i < RD_ARRAY_LEN(argv); i++)
			lens[i] = strlen(argv[i]);
		redisReply *r = redisCommandArgv(rc, (int)RD_ARRAY_LEN(argv), argv, lens);
		if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r); /* not cached on this server yet: EVAL caches it */
			argv[0] = "EVAL";
			argv[1] = append_lua;
			lens[0] = 4;
			lens[1] = sizeof append_lua - 1;
			r = redisCommandArgv(rc, (int)RD_ARRAY_LEN(argv), argv, lens);
		}
		if (!(r = checked(rc, r, "append script"))) {
			head.known = 0;
			return RD_EREDIS;
		}

		const char *tag = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
						  is_str(r->element[0])
					  ? r->element[0]->str
					  : "";
		if (strcmp(tag, "retry") == 0) {
			/* another writer moved the head: the script says where it is */
			head.known = r->elements == 3 && is_str(r->element[1]) &&
				     is_str(r->element[2]) && r->element[2]->len == 64 &&
				     r->element[1]->len == strlen(r->element[1]->str) &&
				     !parse_dec(r->element[1]->str, &head.seq);
			if (head.known)
				memcpy(head.hash, r->element[2]->str, 65);
			freeReplyObject(r);
			rscript_backoff(attempt);
			continue;
		}
		int ok = strcmp(tag, "ok") == 0, dup = strcmp(tag, "dup") == 0;
		if ((!ok && !dup) || r->elements < (size_t)(ok ? 2 : 3) || !is_str(r->element[1]) ||
		    (dup && !is_str(r->element[2]))) {
			LOG_E("audit", "redis_error", "append script: unexpected reply");
			freeReplyObject(r);
			head.known = 0;
			return RD_EREDIS;
		}
		if (ok) { /* the head is now this entry */
			head.seq = seq + 1;
			memcpy(head.hash, hash, sizeof head.hash);
		}
		if (id_out)
			snprintf(id_out, 32, "%s", r->element[1]->str);
		if (hash_out)
			snprintf(hash_out, 65, "%s", dup ? r->element[2]->str : hash);
		if (dup)
			LOG_D("audit", "append_dup", "kind=%s id=%s", kind, r->element[1]->str);
		freeReplyObject(r);
		return RD_OK;
	}
	LOG_W("audit", "append_contended", "gave up after %d attempts", AUDIT_MAX_TRIES);
	return RD_EREDIS;
}

enum rd_err audit_append(redisContext *rc, const char *ikey, const char *kind,
			 const char *conv, const char *data, char *id_out, char *hash_out)
{
	if (!rc || !kind || !kind[0])
		return RD_EINVAL;
	ikey = ikey ? ikey : "";
	conv = conv ? conv : "";
	data = data ? data : "{}";
	if (strchr(kind, '\n') || strchr(conv, '\n'))
		return RD_EINVAL; /* the hashed text must split one way only */
	if (rc->err)
		return RD_EREDIS;
	pthread_mutex_lock(&head_mu);
	enum rd_err err = append_locked(rc, ikey, kind, conv, data, id_out, hash_out);
	pthread_mutex_unlock(&head_mu);
	return err;
}

/* Fill v from one XRANGE element [id, [f, v, f, v, …]]. Returns 1, or 0
 * with a reason when the entry is malformed (unknown or repeated field,
 * a NUL inside a value). */
static int entry_view(const redisReply *el, struct audit_entry_view *v, char *reason, size_t n)
{
	static const char *const names[] = { "seq", "ts", "kind", "conv", "data", "prev", "hash" };
	const char **slots[] = { &v->seq, &v->ts, &v->kind, &v->conv, &v->data, &v->prev, &v->hash };

	memset(v, 0, sizeof *v);
	if (el->type != REDIS_REPLY_ARRAY || el->elements != 2 || !is_str(el->element[0]))
		return bad(reason, n, "malformed stream entry");
	v->id = el->element[0]->str;
	const redisReply *f = el->element[1];
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
		return bad(reason, n, "malformed stream entry");
	for (size_t i = 0; i < f->elements; i += 2) {
		const redisReply *k = f->element[i], *val = f->element[i + 1];
		if (!is_str(k) || !is_str(val))
			return bad(reason, n, "malformed stream entry");
		size_t s;
		for (s = 0; s < RD_ARRAY_LEN(names); s++)
			if (k->len == strlen(names[s]) && memcmp(k->str, names[s], k->len) == 0)
				break;
		if (s == RD_ARRAY_LEN(names))
			return bad(reason, n, "unexpected field \"%.32s\"", k->str);
		if (*slots[s])
			return bad(reason, n, "field %s repeated", names[s]);
		if (strlen(val->str) != val->len)
			return bad(reason, n, "field %s contains a NUL byte", names[s]);
		*slots[s] = val->str;
	}
	return 1;
}

/* The smallest stream id after id ("5-3" → "5-4"), for paging. */
static int next_id(const char *id, char *out, size_t n)
{
	unsigned long long ms, sq;
	char tail;
	if (sscanf(id, "%llu-%llu%c", &ms, &sq, &tail) != 2)
		return -1;
	if (sq == ULLONG_MAX) {
		ms++;
		sq = 0;
	} else {
		sq++;
	}
	snprintf(out, n, "%llu-%llu", ms, sq);
	return 0;
}

static void broken(struct audit_verify_result *r, const char *id)
{
	r->ok = 0;
	snprintf(r->bad_id, sizeof r->bad_id, "%s", id ? id : "");
	LOG_W("audit", "chain_broken", "id=%s reason=%s", r->bad_id, r->reason);
}

enum rd_err audit_verify(redisContext *rc, struct audit_verify_result *r)
{
	enum rd_err err = RD_OK;
	redisReply *page = NULL;
	char start[48] = "-", prev[65] = AUDIT_GENESIS, head_hash[65];
	int64_t head_seq, expect = 1;

	if (!r)
		return RD_EINVAL;
	memset(r, 0, sizeof *r);
	if (!rc || rc->err)
		return RD_EREDIS;
	/* the head first: appends made while we walk land after it */
	err = read_head(rc, &head_seq, head_hash);
	if (err == RD_EPROTO) {
		snprintf(r->reason, sizeof r->reason, "%s is malformed", AUDIT_HEAD);
		broken(r, NULL);
		return RD_OK;
	}
	if (err)
		return err;

	for (;;) {
		char cnt[16];
		snprintf(cnt, sizeof cnt, "%d", AUDIT_PAGE);
		const char *argv[] = { "XRANGE", AUDIT_STREAM, start, "+", "COUNT", cnt };
		page = checked(rc, redisCommandArgv(rc, 6, argv, NULL), "XRANGE");
		if (!page)
			return RD_EREDIS;
		if (page->type != REDIS_REPLY_ARRAY) {
			LOG_E("audit", "redis_error", "XRANGE: not an array");
			err = RD_EREDIS;
			goto out;
		}
		for (size_t i = 0; i < page->elements; i++) {
			struct audit_entry_view v;
			if (!entry_view(page->element[i], &v, r->reason, sizeof r->reason) ||
			    !audit_check_entry(prev, expect, &v, r->reason, sizeof r->reason)) {
				broken(r, v.id);
				goto out;
			}
			if (expect == head_seq && strcmp(v.hash, head_hash) != 0) {
				snprintf(r->reason, sizeof r->reason,
					 "head hash does not match entry seq %" PRId64, expect);
				broken(r, NULL);
				goto out;
			}
			memcpy(prev, v.hash, 65); /* checked: equal to a 64-hex hash */
			expect++;
			r->checked++;
			if (next_id(v.id, start, sizeof start)) {
				snprintf(r->reason, sizeof r->reason, "malformed stream id");
				broken(r, v.id);
				goto out;
			}
		}
		size_t got = page->elements;
		freeReplyObject(page);
		page = NULL;
		if (got < AUDIT_PAGE)
			break;
	}

	int64_t last = expect - 1;
	if (head_seq > last) {
		snprintf(r->reason, sizeof r->reason,
			 "truncated: the head is at seq %" PRId64 " but the stream ends at seq %" PRId64,
			 head_seq, last);
		broken(r, NULL);
		goto out;
	}
	if (last > head_seq) {
		/* entries past the head we read: fine if written since, which moved it */
		err = read_head(rc, &head_seq, head_hash);
		if (err == RD_EREDIS)
			goto out;
		if (err || head_seq < last) {
			err = RD_OK;
			snprintf(r->reason, sizeof r->reason,
				 "the stream goes past the head (seq %" PRId64 ", head at %" PRId64 ")",
				 last, head_seq);
			broken(r, NULL);
			goto out;
		}
	}
	r->ok = 1;
out:
	if (page)
		freeReplyObject(page);
	return err;
}
