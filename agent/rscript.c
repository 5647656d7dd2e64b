#include "agent/rscript.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha1.h>

#include "common/log.h"

/* SHA-1 of src as 40 lower-case hex chars + NUL: the name EVALSHA expects. */
static void script_sha(const char *src, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[20];
	mbedtls_sha1_ret((const unsigned char *)src, strlen(src), d);
	for (size_t i = 0; i < sizeof d; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[40] = '\0';
}

void rscript_backoff(int attempt)
{
	static _Thread_local unsigned seed;
	if (attempt < 2)
		return;
	if (!seed) /* differs per thread and per process */
		seed = (unsigned)(uintptr_t)&seed ^ (unsigned)getpid() ^ (unsigned)time(NULL);
	long us = 50L * (attempt < 20 ? attempt : 20) + (long)(rand_r(&seed) % 200);
	struct timespec ts = { 0, us * 1000L };
	nanosleep(&ts, NULL);
}

const char *rscript_sha(struct rscript *s)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

	if (atomic_load_explicit(&s->sha_ready, memory_order_acquire))
		return s->sha;
	pthread_mutex_lock(&mu);
	if (!atomic_load_explicit(&s->sha_ready, memory_order_relaxed)) {
		script_sha(s->src, s->sha);
		atomic_store_explicit(&s->sha_ready, 1, memory_order_release);
	}
	pthread_mutex_unlock(&mu);
	return s->sha;
}

/* Check reply r of `what` (NULL: none came) and hand it to *out. NOSCRIPT
 * is reported as RD_ENOTFOUND without a log line so the caller can fall
 * back to EVAL. */
static enum rd_err take_reply(redisContext *rc, const char *what, redisReply *r, redisReply **out)
{
	*out = NULL;
	if (!r) {
		LOG_E("redis", "no_reply", "%s: %s", what, rc->err ? rc->errstr : "no reply");
		return RD_EREDIS;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		enum rd_err err = RD_EREDIS;
		if (r->str && strncmp(r->str, "NOSCRIPT", 8) == 0)
			err = RD_ENOTFOUND;
		else
			LOG_E("redis", "error_reply", "%s: %s", what, r->str ? r->str : "");
		freeReplyObject(r);
		return err;
	}
	*out = r;
	return RD_OK;
}

static enum rd_err send_argv(redisContext *rc, const char *what, int argc,
			     const char **argv, const size_t *lens, redisReply **out)
{
	return take_reply(rc, what, redisCommandArgv(rc, argc, argv, lens), out);
}

/* EVALSHA argv of s into argv[3 + RSCRIPT_MAX_ARGS] / lens; nk holds the
 * key count's digits. Returns argc, or 0 when there are too many arguments. */
static int script_argv(struct rscript *s, size_t nkeys, const char *const *keys, size_t nargs,
		       const char *const *args, const char **argv, size_t *lens, char nk[24])
{
	if (nkeys + nargs > RSCRIPT_MAX_ARGS)
		return 0;
	snprintf(nk, 24, "%zu", nkeys);
	argv[0] = "EVALSHA";
	argv[1] = rscript_sha(s);
	argv[2] = nk;
	for (size_t i = 0; i < nkeys; i++)
		argv[3 + i] = keys[i] ? keys[i] : "";
	for (size_t i = 0; i < nargs; i++)
		argv[3 + nkeys + i] = args[i] ? args[i] : "";
	for (size_t i = 0; i < 3 + nkeys + nargs; i++)
		lens[i] = strlen(argv[i]);
	return (int)(3 + nkeys + nargs);
}

enum rd_err rscript_run(redisContext *rc, struct rscript *s, size_t nkeys,
			const char *const *keys, size_t nargs, const char *const *args,
			redisReply **out)
{
	const char *argv[3 + RSCRIPT_MAX_ARGS];
	size_t lens[3 + RSCRIPT_MAX_ARGS];
	char nk[24];
	enum rd_err err;

	*out = NULL;
	int argc = script_argv(s, nkeys, keys, nargs, args, argv, lens, nk);
	if (!argc)
		return RD_EINVAL;
	err = send_argv(rc, s->name, argc, argv, lens, out);
	if (err != RD_ENOTFOUND)
		return err;
	/* NOSCRIPT: the server does not know it yet (first call, restart,
	 * SCRIPT FLUSH). EVAL runs it and caches it for the next EVALSHA. */
	argv[0] = "EVAL";
	argv[1] = s->src;
	lens[0] = 4;
	lens[1] = strlen(s->src);
	err = send_argv(rc, s->name, argc, argv, lens, out);
	return err == RD_ENOTFOUND ? RD_EREDIS : err;
}

int rscript_append_run(redisContext *rc, struct rscript *s, size_t nkeys, const char *const *keys,
		       size_t nargs, const char *const *args)
{
	const char *argv[3 + RSCRIPT_MAX_ARGS];
	size_t lens[3 + RSCRIPT_MAX_ARGS];
	char nk[24];
	int argc = script_argv(s, nkeys, keys, nargs, args, argv, lens, nk);
	return argc ? redisAppendCommandArgv(rc, argc, argv, lens) : REDIS_ERR;
}

enum rd_err rscript_read(redisContext *rc, struct rscript *s, redisReply **out)
{
	redisReply *r = NULL;
	if (redisGetReply(rc, (void **)&r) != REDIS_OK)
		r = NULL;
	return take_reply(rc, s->name, r, out);
}

enum rd_err rscript_cmd(redisContext *rc, size_t argc, const char *const *argv,
			redisReply **out)
{
	size_t lens[RSCRIPT_MAX_ARGS];
	enum rd_err err;

	*out = NULL;
	if (argc == 0 || argc > RSCRIPT_MAX_ARGS)
		return RD_EINVAL;
	for (size_t i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	err = send_argv(rc, argv[0], (int)argc, (const char **)argv, lens, out);
	return err == RD_ENOTFOUND ? RD_EREDIS : err;
}

static int append_va(redisContext *rc, const char *word, va_list ap)
{
	const char *argv[RSCRIPT_MAX_ARGS];
	size_t lens[RSCRIPT_MAX_ARGS];
	int argc = 0;

	for (const char *w = word; w; w = va_arg(ap, const char *)) {
		if (argc == RSCRIPT_MAX_ARGS)
			return REDIS_ERR;
		argv[argc] = w;
		lens[argc++] = strlen(w);
	}
	return argc ? redisAppendCommandArgv(rc, argc, argv, lens) : REDIS_ERR;
}

int rscript_append(redisContext *rc, const char *word, ...)
{
	va_list ap;
	va_start(ap, word);
	int rc_ = append_va(rc, word, ap);
	va_end(ap);
	return rc_;
}

redisReply *rscript_command(redisContext *rc, const char *word, ...)
{
	redisReply *r = NULL;
	va_list ap;
	va_start(ap, word);
	int rc_ = append_va(rc, word, ap);
	va_end(ap);
	if (rc_ != REDIS_OK || redisGetReply(rc, (void **)&r) != REDIS_OK)
		return NULL;
	return r;
}

enum rd_err rscript_key(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n)
		return RD_EINVAL;
	return RD_OK;
}

enum rd_err rscript_int(const redisReply *r, long long *out)
{
	char tmp[32], *end;
	long long v;

	if (r->type == REDIS_REPLY_INTEGER) {
		*out = r->integer;
		return RD_OK;
	}
	if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= sizeof tmp)
		return RD_EPROTO;
	memcpy(tmp, r->str, r->len);
	tmp[r->len] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end || end == tmp)
		return RD_EPROTO;
	*out = v;
	return RD_OK;
}

enum rd_err rscript_str(const redisReply *r, char *buf, size_t n)
{
	if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
		return RD_EPROTO;
	if (memchr(r->str, '\0', r->len))
		return RD_EPROTO;
	if (r->len >= n)
		return RD_ELIMIT;
	memcpy(buf, r->str, r->len);
	buf[r->len] = '\0';
	return RD_OK;
}

enum rd_err rscript_counter(redisContext *rc, const char *key, long long *out)
{
	redisReply *r = NULL;
	const char *get[] = { "GET", key };
	enum rd_err e = rscript_cmd(rc, 2, get, &r);

	if (e != RD_OK)
		return e;
	*out = 0;
	if (r->type != REDIS_REPLY_NIL && rscript_int(r, out) != RD_OK)
		e = RD_EREDIS;
	freeReplyObject(r);
	return e;
}

enum rd_err rscript_numbered(const redisReply *r, char *word, size_t wn, char *value, size_t vn,
			     long long *seq, int *retry)
{
	*retry = 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    rscript_str(r->element[0], word, wn) != RD_OK)
		return RD_EREDIS;
	if (strcmp(word, "retry") == 0) {
		*retry = 1;
		return rscript_int(r->element[1], seq) == RD_OK ? RD_OK : RD_EREDIS;
	}
	if (value && rscript_str(r->element[1], value, vn) != RD_OK)
		return RD_EREDIS;
	return RD_OK;
}
