/* util.h — time, hashing and random ids shared by every module. */
#ifndef RD_UTIL_H
#define RD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "common/rd.h"

/* Wall-clock time in ms / s since the epoch (CLOCK_REALTIME). */
int64_t now_ms(void);
/* Monotonic time in ms, for deadlines and latencies. */
int64_t mono_ms(void);

/* SHA-256 of data as 64 lower-case hex chars + NUL in out[65] (mbedTLS). */
void sha256_hex(const void *data, size_t len, char out[65]);

/* HMAC-SHA256(key, data) as 64 hex chars + NUL (mbedTLS). */
void hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
		     char out[65]);

/* Constant-time equality of two byte strings; different lengths are unequal
 * (the length itself is not secret). Returns 1 when equal. */
int ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* nbytes of getrandom() as lower-case hex into out (2*nbytes+1 bytes).
 * RD_EIO if the kernel gives no randomness. */
enum rd_err random_hex(size_t nbytes, char *out) RD_WUR;

/* Parse RFC 3339 ("2026-11-20T10:00:00Z", "…+01:00", fractional seconds
 * allowed) to seconds since the epoch. RD_EINVAL on anything else. */
enum rd_err rfc3339_parse(const char *s, int64_t *out) RD_WUR;

/* Format seconds since the epoch as "2026-11-20T10:00:00Z" into out[21+]. */
void rfc3339_format(int64_t t, char *out, size_t n);

/* UTC day "20261120" of a time, into out[9+]. */
void utc_day(int64_t t, char *out, size_t n);

#endif
