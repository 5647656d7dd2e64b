#include "agent/dialog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/model.h"

static const char *const state_names[] = { "idle", "await_order", "await_email",
					   "await_confirm", "escalated" };

const char *dstate_name(enum dstate s)
{
	return (unsigned)s < RD_ARRAY_LEN(state_names) ? state_names[s] : "idle";
}

/* Field table: one place says how a dialog maps to JSON. */
#define STR_FIELDS(X) X(locale) X(order_id) X(email) X(reason) X(amount_cur) X(ticket) \
	X(request) X(offer_key) X(offer_cur) X(last_refund)
#define INT_FIELDS(X) X(amount) X(attempts) X(offer_amount)

enum rd_err dialog_to_json(const struct dialog *d, char *out, size_t n)
{
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(dstate_name(d->state)));
#define X(f) json_object_set_new(o, #f, json_string(d->f));
	STR_FIELDS(X)
#undef X
#define X(f) json_object_set_new(o, #f, json_integer(d->f));
	INT_FIELDS(X)
#undef X
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return RD_ENOMEM;
	enum rd_err err = strlen(s) < n ? RD_OK : RD_ELIMIT;
	if (!err)
		memcpy(out, s, strlen(s) + 1);
	free(s);
	return err;
}

static void from_json(const char *s, size_t len, struct dialog *d)
{
	json_t *o = json_loadb(s, len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	const char *st = json_string_value(json_object_get(o, "state"));
	for (size_t i = 0; st && i < RD_ARRAY_LEN(state_names); i++)
		if (strcmp(st, state_names[i]) == 0)
			d->state = (enum dstate)i;
#define X(f)                                                                   \
	{                                                                      \
		const char *v = json_string_value(json_object_get(o, #f));     \
		if (v)                                                         \
			model_strlcpy(d->f, v, sizeof d->f);                   \
	}
	STR_FIELDS(X)
#undef X
#define X(f) d->f = json_integer_value(json_object_get(o, #f));
	INT_FIELDS(X)
#undef X
	json_decref(o);
}

void dialog_parse(const char *s, size_t len, struct dialog *d)
{
	memset(d, 0, sizeof *d);
	if (len > 0)
		from_json(s, len, d);
}

enum rd_err dialog_load(redisContext *rc, const char *cid, struct dialog *d)
{
	memset(d, 0, sizeof *d);
	redisReply *r = redisCommand(rc, "HGET rd:conv:{%s} state", cid);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		if (r)
			freeReplyObject(r);
		return RD_EREDIS;
	}
	int found = r->type == REDIS_REPLY_STRING;
	dialog_parse(found ? r->str : "", found ? r->len : 0, d);
	freeReplyObject(r);
	return RD_OK;
}
