/* transcript.c — the conversation's transcript list (see transcript.h). */
#include "agent/transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dialog.h"
#include "common/model.h"

int transcript_append(redisContext *rc, const char *cid, const char *const *entries, int n)
{
	if (n <= 0)
		return 0;
	char key[MODEL_ID_LEN + 16];
	snprintf(key, sizeof key, KEY_TRANSCRIPT_FMT, cid);
	const char **argv = malloc(((size_t)n + 2) * sizeof *argv);
	size_t *lens = malloc(((size_t)n + 2) * sizeof *lens);
	if (!argv || !lens) {
		free(argv);
		free(lens);
		return 0; /* nothing appended: the caller's EXEC goes on without it */
	}
	int argc = 0;
	argv[argc++] = "RPUSH";
	argv[argc++] = key;
	for (int i = 0; i < n; i++)
		if (entries[i])
			argv[argc++] = entries[i];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (argc > 2)
		redisAppendCommandArgv(rc, argc, argv, lens);
	free(argv);
	free(lens);
	if (argc == 2)
		return 0;
	redisAppendCommand(rc, "LTRIM %s -%d -1", key, TRANSCRIPT_MAX);
	return 2;
}

/* An entry of the old stream (id, [field, value, ...]) as a JSON object. */
static json_t *old_entry(const redisReply *e)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "id", json_stringn(e->element[0]->str, e->element[0]->len))) {
		json_decref(o);
		return NULL;
	}
	const redisReply *kv = e->element[1];
	for (size_t k = 0; k + 1 < kv->elements; k += 2) {
		if (kv->element[k]->type != REDIS_REPLY_STRING ||
		    kv->element[k + 1]->type != REDIS_REPLY_STRING)
			continue;
		json_t *v = json_stringn(kv->element[k + 1]->str, kv->element[k + 1]->len);
		if (v)
			json_object_set_new(o, kv->element[k]->str, v);
	}
	return o;
}

json_t *transcript_read(redisContext *rc, const char *cid, size_t max, enum rd_err *err)
{
	redisReply *old = NULL, *list = NULL;
	json_t *out = NULL;
	*err = RD_EREDIS;
	if (max < 1 || max > TRANSCRIPT_MAX)
		max = TRANSCRIPT_MAX;
	/* hiredis formats no %zu */
	redisAppendCommand(rc, "XREVRANGE " KEY_TRANSCRIPT_OLD_FMT " + - COUNT %d", cid, (int)max);
	redisAppendCommand(rc, "LRANGE " KEY_TRANSCRIPT_FMT " -%d -1", cid, (int)max);
	if (redisGetReply(rc, (void **)&old) != REDIS_OK || redisGetReply(rc, (void **)&list) != REDIS_OK ||
	    !old || !list || old->type != REDIS_REPLY_ARRAY || list->type != REDIS_REPLY_ARRAY)
		goto out;
	*err = RD_ENOMEM;
	if (!(out = json_array()))
		goto out;
	/* the newest max: all of the list's, and the old stream's that still fit */
	size_t from_old = list->elements < max ? max - list->elements : 0;
	if (from_old > old->elements)
		from_old = old->elements;
	for (size_t i = from_old; i-- > 0;) { /* XREVRANGE: newest first */
		json_t *o = old_entry(old->element[i]);
		if (o && json_array_append_new(out, o))
			goto fail;
	}
	for (size_t i = 0; i < list->elements; i++) {
		const redisReply *e = list->element[i];
		if (e->type != REDIS_REPLY_STRING)
			continue;
		json_t *o = json_loadb(e->str, e->len, 0, NULL);
		if (json_is_object(o)) {
			if (json_array_append_new(out, o))
				goto fail;
		} else {
			json_decref(o);
		}
	}
	*err = RD_OK;
	goto out;
fail:
	json_decref(out);
	out = NULL;
out:
	if (old)
		freeReplyObject(old);
	if (list)
		freeReplyObject(list);
	return out;
}
