/* rscript.h — run a Lua script (or a plain command) on a blocking hiredis
 * context, with the reply checks every caller needs.
 *
 * A script is sent as EVALSHA with the SHA-1 of its source, computed on its
 * first run and kept in the struct (rscript_sha); on NOSCRIPT it is sent once
 * more as EVAL, which also loads it into the server's cache.
 * Keys always travel in KEYS, values in ARGV, both through redisCommandArgv
 * (binary-safe: spaces, '%' or quotes in user text are plain bytes). */
#ifndef RD_RSCRIPT_H
#define RD_RSCRIPT_H

#include <stdatomic.h>
#include <stddef.h>
#include <hiredis.h>
#include "common/rd.h"

/* Longest key built by redress modules; longer ids are refused (RD_EINVAL). */
#define RSCRIPT_KEY_MAX 512
/* Lua numbers are doubles: integers above 2^53 - 1 are not exact there, so
 * amounts and caps sent to a script must not exceed this. */
#define RSCRIPT_INT_MAX 9007199254740991LL
/* Most KEYS + ARGV one script call takes. */
#define RSCRIPT_MAX_ARGS 48

/* Define one per script as a static object with name and src only: the
 * rest is filled on first use, safely from any thread. */
struct rscript {
	const char *name; /* for logs: "mandate_reserve" */
	const char *src;  /* Lua source, static */
	atomic_int sha_ready;
	char sha[41];
};

/* The EVALSHA name of s (40 lower-case hex chars: SHA-1 of src), computed
 * once; the string lives as long as s. */
const char *rscript_sha(struct rscript *s);

/* Run s with KEYS keys[0..nkeys) and ARGV args[0..nargs) (NUL-terminated
 * strings, borrowed; NULL is sent as ""). RD_OK: *out holds the script's
 * reply, never an error reply (caller frees with freeReplyObject).
 * RD_EREDIS: no reply (connection error, rc->err set) or an error reply
 * (logged); *out is NULL. RD_EINVAL: too many arguments. */
enum rd_err rscript_run(redisContext *rc, struct rscript *s, size_t nkeys,
			const char *const *keys, size_t nargs, const char *const *args,
			redisReply **out) RD_WUR;

/* Pipelined rscript_run: queue s as EVALSHA on rc's output buffer
 * (REDIS_OK; REDIS_ERR when out of memory or given too many arguments:
 * nothing queued), and read its reply in turn with rscript_read. There is
 * no EVAL fallback inside a pipeline: RD_ENOTFOUND from rscript_read means
 * the server did not know the script and did not run it — read the rest of
 * the pipeline's replies, then run it with rscript_run. Otherwise as
 * rscript_run (RD_OK with *out, caller frees; RD_EREDIS, logged). */
int rscript_append_run(redisContext *rc, struct rscript *s, size_t nkeys, const char *const *keys,
		       size_t nargs, const char *const *args);
enum rd_err rscript_read(redisContext *rc, struct rscript *s, redisReply **out) RD_WUR;

/* One plain command from argv[0..argc) (borrowed, NUL-terminated). RD_OK
 * with *out (caller frees; never an error reply), RD_EREDIS otherwise (logged). */
enum rd_err rscript_cmd(redisContext *rc, size_t argc, const char *const *argv,
			redisReply **out) RD_WUR;

/* Queue one command on rc's output buffer (pipelined: read its reply with
 * redisGetReply) from its words, the list ended by NULL:
 * rscript_append(rc, "XACK", stream, group, id, NULL). Each word is one
 * argument, sent as is up to its NUL (spaces, '%' and quotes are plain
 * bytes); at most RSCRIPT_MAX_ARGS. Use it, not redisAppendCommand's
 * format string, on the hot paths: hiredis 0.14 formats a format string a
 * byte at a time with a sprintf per argument — about a third of an agent
 * turn's instructions (bench/NOTES.md). REDIS_OK, or REDIS_ERR when out of
 * memory or given too many words (nothing is queued then). */
int rscript_append(redisContext *rc, const char *word, ...) __attribute__((sentinel));

/* rscript_append, then wait for its reply: what redisCommand would return
 * (an error reply as is; NULL when the command could not be queued or the
 * connection failed — rc->err says which), caller frees. */
redisReply *rscript_command(redisContext *rc, const char *word, ...) __attribute__((sentinel));

/* Before retry number `attempt` (0-based) of an optimistic write that lost
 * to another writer: nothing for the first two, then a sleep of up to ~1 ms
 * with jitter (per-thread random state), so that writers that keep
 * colliding spread out instead of losing to each other in lock step. */
void rscript_backoff(int attempt);

/* snprintf into buf[n] for a key; RD_EINVAL when it does not fit. */
enum rd_err rscript_key(char *buf, size_t n, const char *fmt, ...) RD_WUR RD_PRINTF(3, 4);

/* Integer value of r: an INTEGER reply, or a STRING holding a base-10
 * integer. RD_EPROTO otherwise (NIL included). */
enum rd_err rscript_int(const redisReply *r, long long *out) RD_WUR;

/* Copy a STRING/STATUS reply's bytes to buf[n] as a C string. RD_EPROTO if r
 * is not a string or holds a NUL, RD_ELIMIT if it does not fit. */
enum rd_err rscript_str(const redisReply *r, char *buf, size_t n) RD_WUR;

/* Read a counter key; an absent key is 0. RD_EREDIS on failure or a
 * non-integer value. */
enum rd_err rscript_counter(redisContext *rc, const char *key, long long *out) RD_WUR;

/* Numbered inserts (credit notes, tickets, sandbox refunds) propose the next
 * number from rscript_counter and let the script take it only if the
 * counter has not moved; the script answers {"retry", current counter} or
 * {word, value}. Split such a reply: *retry = 1 with *seq updated, or word
 * and value copied (value may be NULL to skip it). RD_EREDIS on any other
 * shape. Borrows r. */
enum rd_err rscript_numbered(const redisReply *r, char *word, size_t wn, char *value, size_t vn,
			     long long *seq, int *retry) RD_WUR;

#endif
