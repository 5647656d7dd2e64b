/* trim.c — trimming handled entries of the pipeline's streams (trim.h). */
#include "gateway/trim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sid {
	uint64_t ms, seq;
};

/* "1700000000000-3" → sid; 0 on a malformed id. */
static int parse_id(const char *s, struct sid *id)
{
	char *end;
	id->ms = strtoull(s, &end, 10);
	if (end == s || *end != '-')
		return 0;
	const char *q = end + 1;
	id->seq = strtoull(q, &end, 10);
	return end != q && *end == '\0';
}

static int sid_less(struct sid a, struct sid b)
{
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq);
}

/* The value of field name in a flat [name, value, ...] reply, or NULL. */
static const redisReply *field(const redisReply *r, const char *name)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
			return r->element[i + 1];
	return NULL;
}

/* The oldest id pending in group (XPENDING summary) into *id: 1, 0 when
 * none is pending, -1 on trouble. */
static int oldest_pending(redisContext *rc, const char *stream, const char *group, struct sid *id)
{
	redisReply *r = redisCommand(rc, "XPENDING %s %s", stream, group);
	int ret = -1;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER) {
		if (r->element[0]->integer == 0)
			ret = 0;
		else if (r->element[1]->type == REDIS_REPLY_STRING && parse_id(r->element[1]->str, id))
			ret = 1;
	}
	if (r)
		freeReplyObject(r);
	return ret;
}

int trim_floor(redisContext *rc, const char *stream, int64_t keep_ms, int64_t now_ms, char *out,
	       size_t outlen)
{
	if (now_ms <= keep_ms)
		return 0;
	struct sid floor = { (uint64_t)(now_ms - keep_ms), 0 };
	redisReply *r = redisCommand(rc, "XINFO GROUPS %s", stream);
	if (!r)
		return -1;
	int ret = 1;
	if (r->type == REDIS_REPLY_ERROR) /* no such stream yet */
		ret = strstr(r->str, "no such key") ? 0 : -1;
	else if (r->type != REDIS_REPLY_ARRAY)
		ret = -1;
	else if (r->elements == 0)
		ret = 0; /* no group: nobody has read anything */
	for (size_t g = 0; ret == 1 && g < r->elements; g++) {
		const redisReply *info = r->element[g];
		const redisReply *name = info->type == REDIS_REPLY_ARRAY ? field(info, "name") : NULL;
		const redisReply *last = name ? field(info, "last-delivered-id") : NULL;
		struct sid given, pend;
		if (!last || name->type != REDIS_REPLY_STRING || last->type != REDIS_REPLY_STRING ||
		    !parse_id(last->str, &given)) {
			ret = -1;
			break;
		}
		given.seq++; /* everything after the last one given is still to read */
		if (sid_less(given, floor))
			floor = given;
		int p = oldest_pending(rc, stream, name->str, &pend);
		if (p < 0)
			ret = -1;
		else if (p && sid_less(pend, floor))
			floor = pend;
	}
	freeReplyObject(r);
	if (ret == 1 && floor.ms == 0 && floor.seq <= 1)
		ret = 0; /* nothing older than 0-1 */
	if (ret == 1)
		snprintf(out, outlen, "%" PRIu64 "-%" PRIu64, floor.ms, floor.seq);
	return ret;
}

long long trim_stream(redisContext *rc, const char *stream, int64_t keep_ms, int64_t now_ms,
		      int max_calls)
{
	char floor[48];
	int f = trim_floor(rc, stream, keep_ms, now_ms, floor, sizeof floor);
	if (f <= 0)
		return f;
	long long removed = 0;
	for (int i = 0; i < max_calls; i++) {
		redisReply *r = redisCommand(rc, "XTRIM %s MINID ~ %s", stream, floor);
		if (!r || r->type != REDIS_REPLY_INTEGER) {
			if (r)
				freeReplyObject(r);
			return -1;
		}
		long long n = r->integer;
		freeReplyObject(r);
		removed += n;
		if (n == 0)
			break;
	}
	return removed;
}
