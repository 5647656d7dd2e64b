/* trim.h — keeping the pipeline's streams (rd:inbound, rd:outbox) from
 * growing for ever: entries every consumer group has handled are trimmed
 * once older than [gateway] stream_retention_s. Worker 0 calls it from its
 * loop (worker.c); any gateway process may, at any time: it only ever
 * removes what no group still needs. */
#ifndef RD_TRIM_H
#define RD_TRIM_H

#include <stdint.h>
#include <hiredis.h>

/* The id below which every group of stream is done with its entries: the
 * oldest entry still pending in a group, or the one after the last entry a
 * group was given, whichever is lower over all groups; and, of those, only
 * entries older than now_ms - keep_ms (ms, Redis's clock and ours agree to
 * the second). Writes "ms-seq" into out (>= 48 bytes). Returns 1 when there
 * is a floor, 0 when nothing may be trimmed (no group yet, or nothing
 * older), -1 on Redis trouble. Read-only. */
int trim_floor(redisContext *rc, const char *stream, int64_t keep_ms, int64_t now_ms, char *out,
	       size_t outlen);

/* Trim stream below trim_floor() with XTRIM MINID ~ (whole macro nodes,
 * at most Redis's default LIMIT per call, repeated up to max_calls so a
 * long backlog goes a piece at a time, Redis answering others in between).
 * Returns the entries removed, or -1 on Redis trouble. */
long long trim_stream(redisContext *rc, const char *stream, int64_t keep_ms, int64_t now_ms,
		      int max_calls);

#endif
