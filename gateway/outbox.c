#include "gateway/outbox.h"

#include <stdio.h>
#include <stdlib.h>

#include "agent/rscript.h"
#include "gateway/gateway.h"

const char outbox_lua[] =
	"local s = redis.call('INCR', KEYS[1])\n"
	"redis.call('EXPIRE', KEYS[1], " RD_XSTR(OUT_SEQ_TTL_S) ")\n"
	"return redis.call('XADD', KEYS[2], '*', 'o', ARGV[1], 'c', ARGV[2], 's', s)\n";

int outbox_append_pipelined(redisContext *rc, const struct outbound *ob)
{
	char *json = outbound_to_json(ob);
	if (!json)
		return 0;
	char seq[MODEL_ID_LEN + 16];
	snprintf(seq, sizeof seq, "rd:out:seq:{%s}", ob->conversation_id);
	rscript_append(rc, "EVAL", outbox_lua, "2", seq, KEY_OUTBOX, json, ob->conversation_id, NULL);
	free(json);
	return 1;
}

enum rd_err outbox_append(redisContext *rc, const struct outbound *ob)
{
	if (!outbox_append_pipelined(rc, ob))
		return RD_ENOMEM;
	redisReply *r = NULL;
	enum rd_err err = RD_OK;
	if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r || r->type != REDIS_REPLY_STRING)
		err = RD_EREDIS;
	if (r)
		freeReplyObject(r);
	return err;
}
