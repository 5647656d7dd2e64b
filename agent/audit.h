/* audit.h — the tamper-evident audit log: a Redis stream, append-only,
 * each entry hash-chained (SHA-256, mbedTLS) to the one before.
 *
 * Stream "rd:audit", entry fields: seq, ts (ms), kind, conv, data (JSON),
 * prev (hash of the previous entry, 64 zeros for the first), hash. The head
 * ("rd:audit:head": seq, hash) moves only through one Lua script, which
 * appends only if the caller computed over the current head (optimistic;
 * the caller retries), so concurrent writers from many processes keep one
 * chain. An idempotency key makes a replayed step append nothing. */
#ifndef RD_AUDIT_H
#define RD_AUDIT_H

#include <stdint.h>
#include <hiredis.h>
#include "common/rd.h"

#define AUDIT_STREAM "rd:audit"
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* hash = SHA-256 hex of "prev\nseq\nts\nkind\nconv\ndata". */
void audit_hash(const char *prev, int64_t seq, int64_t ts_ms, const char *kind,
		const char *conv, const char *data, char out[65]);

/* Append one entry. ikey: idempotency key ("" or NULL for none): a second
 * append with the same key appends nothing and returns RD_OK. data is a
 * JSON object text (borrowed). id_out (may be NULL, ≥ 32 bytes) receives
 * the stream id; hash_out (may be NULL, 65 bytes) the entry's hash (for a
 * duplicate: the first entry's id and hash). kind must be non-empty and,
 * like conv, free of '\n' (else RD_EINVAL); conv NULL reads as "", data
 * NULL as "{}". RD_EREDIS when Redis fails, when the head is missing while
 * the stream is not empty (appending would fork the chain), or after 50
 * lost races for the head (to other processes: the appends of one process
 * take turns, one round trip each). Blocking: call from a worker thread;
 * thread-safe, each thread with its own rc. */
enum rd_err audit_append(redisContext *rc, const char *ikey, const char *kind,
			 const char *conv, const char *data, char *id_out,
			 char *hash_out) RD_WUR;

struct audit_verify_result {
	int64_t checked;        /* entries walked */
	int ok;                 /* 1 when the whole chain holds */
	char bad_id[32];        /* first bad entry's stream id ("" if none / head mismatch) */
	char reason[160];       /* "hash mismatch", "seq 9, expected 4", "truncated: …" */
};

/* One stream entry as read back, for audit_check_entry. All strings are
 * borrowed, NUL-terminated; NULL means the field is absent. */
struct audit_entry_view {
	const char *id;         /* stream id, for messages */
	const char *seq, *ts, *kind, *conv, *data, *prev, *hash;
};

/* Check one entry against what the chain expects at this position: every
 * field present; seq and ts plain decimal; seq == expected_seq; kind and
 * conv without '\n' (so the hashed text splits one way only); prev ==
 * expected_prev; hash == audit_hash(...) of the stored fields. Pure: no
 * Redis. Returns 1 when the entry holds; 0 with a short reason ("hash
 * mismatch", "seq 7, expected 3", …) in reason[n] otherwise. */
int audit_check_entry(const char *expected_prev, int64_t expected_seq,
		      const struct audit_entry_view *e, char *reason, size_t n);

/* Walk the whole chain from the start (XRANGE in pages), recomputing every
 * hash, and check the head: read first, it must be reached (else the tail
 * was cut) and match; entries past it must have moved it meanwhile
 * (concurrent appends). An entry with an unknown or repeated field is bad
 * too. RD_EREDIS on Redis failure; a broken chain is RD_OK with
 * r->ok == 0. */
enum rd_err audit_verify(redisContext *rc, struct audit_verify_result *r) RD_WUR;

#endif
