#include "common/model.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const kind_names[] = { "text", "button", "status", "unsupported" };

void message_free(struct message *m)
{
	free(m->text);
	free(m->route);
	m->text = m->route = NULL;
}

void outbound_free(struct outbound *o)
{
	for (int i = 0; i < o->n_replies; i++) {
		free(o->replies[i].text);
		o->replies[i].text = NULL;
	}
	o->n_replies = 0;
	free(o->route);
	o->route = NULL;
}

int model_strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src);
	int cut = 0;
	if (n >= dstlen) {
		n = dstlen - 1;
		/* back off continuation bytes so a UTF-8 sequence is never split */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
		cut = 1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return cut;
}

/* Copy a JSON string member into a fixed field; absent or null gives "". */
static int get_str(json_t *o, const char *key, char *dst, size_t n)
{
	json_t *v = json_object_get(o, key);
	dst[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= n)
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_dup(json_t *o, const char *key, char **dst)
{
	json_t *v = json_object_get(o, key);
	*dst = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*dst = strdup(json_string_value(v));
	return *dst ? 0 : -1;
}

static int64_t get_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

char *message_to_json(const struct message *m)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			      "channel", m->channel, "user", m->channel_user_id,
			      "conversation_id", m->conversation_id,
			      "message_id", m->message_id, "kind", kind_names[m->kind],
			      "payload", m->payload, "locale", m->locale);
	if (!o)
		return NULL;
	if (m->text)
		json_object_set_new(o, "text", json_string(m->text));
	if (m->verified_phone[0])
		json_object_set_new(o, "verified_phone", json_string(m->verified_phone));
	if (m->display_name[0])
		json_object_set_new(o, "name", json_string(m->display_name));
	if (m->route)
		json_object_set_new(o, "route", json_string(m->route));
	json_object_set_new(o, "received_at_ms", json_integer(m->received_at_ms));
	if (m->platform_ts)
		json_object_set_new(o, "platform_ts", json_integer(m->platform_ts));
	if (m->is_test)
		json_object_set_new(o, "is_test", json_true());
	return dump(o);
}

enum rd_err message_from_json(const char *s, size_t len, struct message *m)
{
	json_error_t jerr;
	memset(m, 0, sizeof *m);
	json_t *o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o))
		goto bad;
	char kind[16];
	if (get_str(o, "channel", m->channel, sizeof m->channel) ||
	    get_str(o, "user", m->channel_user_id, sizeof m->channel_user_id) ||
	    get_str(o, "conversation_id", m->conversation_id, sizeof m->conversation_id) ||
	    get_str(o, "message_id", m->message_id, sizeof m->message_id) ||
	    get_str(o, "kind", kind, sizeof kind) ||
	    get_str(o, "payload", m->payload, sizeof m->payload) ||
	    get_str(o, "locale", m->locale, sizeof m->locale) ||
	    get_str(o, "verified_phone", m->verified_phone, sizeof m->verified_phone) ||
	    get_str(o, "name", m->display_name, sizeof m->display_name) ||
	    get_dup(o, "text", &m->text) || get_dup(o, "route", &m->route))
		goto bad;
	m->kind = MSG_UNSUPPORTED;
	for (size_t i = 0; i < RD_ARRAY_LEN(kind_names); i++)
		if (strcmp(kind, kind_names[i]) == 0)
			m->kind = (enum msg_kind)i;
	m->received_at_ms = get_int(o, "received_at_ms");
	m->platform_ts = get_int(o, "platform_ts");
	m->is_test = json_is_true(json_object_get(o, "is_test"));
	if (!m->channel[0] || !m->conversation_id[0] || !m->message_id[0])
		goto bad;
	json_decref(o);
	return RD_OK;
bad:
	json_decref(o);
	message_free(m);
	return RD_EPROTO;
}

char *outbound_to_json(const struct outbound *ob)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}",
			      "channel", ob->channel, "user", ob->channel_user_id,
			      "conversation_id", ob->conversation_id,
			      "in_reply_to", ob->in_reply_to, "locale", ob->locale,
			      "received_at_ms", (json_int_t)ob->received_at_ms);
	if (!o)
		return NULL;
	if (ob->route)
		json_object_set_new(o, "route", json_string(ob->route));
	if (ob->kind[0])
		json_object_set_new(o, "kind", json_string(ob->kind));
	if (ob->ref[0])
		json_object_set_new(o, "ref", json_string(ob->ref));
	json_t *arr = json_array();
	for (int i = 0; i < ob->n_replies; i++) {
		const struct reply *r = &ob->replies[i];
		json_t *jr = json_pack("{s:s, s:s}", "name", r->name, "text", r->text ? r->text : "");
		if (r->n_buttons) {
			json_t *bs = json_array();
			for (int b = 0; b < r->n_buttons; b++)
				json_array_append_new(bs, json_pack("{s:s, s:s}", "id", r->buttons[b].id,
								   "title", r->buttons[b].title));
			json_object_set_new(jr, "buttons", bs);
		}
		json_array_append_new(arr, jr);
	}
	json_object_set_new(o, "replies", arr);
	return dump(o);
}

enum rd_err outbound_from_json(const char *s, size_t len, struct outbound *ob)
{
	json_error_t jerr;
	memset(ob, 0, sizeof *ob);
	json_t *o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o))
		goto bad;
	if (get_str(o, "channel", ob->channel, sizeof ob->channel) ||
	    get_str(o, "user", ob->channel_user_id, sizeof ob->channel_user_id) ||
	    get_str(o, "conversation_id", ob->conversation_id, sizeof ob->conversation_id) ||
	    get_str(o, "in_reply_to", ob->in_reply_to, sizeof ob->in_reply_to) ||
	    get_str(o, "locale", ob->locale, sizeof ob->locale) ||
	    get_str(o, "kind", ob->kind, sizeof ob->kind) ||
	    get_str(o, "ref", ob->ref, sizeof ob->ref) ||
	    get_dup(o, "route", &ob->route))
		goto bad;
	ob->received_at_ms = get_int(o, "received_at_ms");
	json_t *arr = json_object_get(o, "replies");
	if (!json_is_array(arr) || json_array_size(arr) > MODEL_MAX_REPLIES)
		goto bad;
	size_t i;
	json_t *jr;
	json_array_foreach(arr, i, jr) {
		struct reply *r = &ob->replies[ob->n_replies];
		if (get_str(jr, "name", r->name, sizeof r->name) || get_dup(jr, "text", &r->text))
			goto bad;
		ob->n_replies++;
		json_t *bs = json_object_get(jr, "buttons");
		if (!bs)
			continue;
		if (!json_is_array(bs) || json_array_size(bs) > MODEL_MAX_BUTTONS)
			goto bad;
		size_t b;
		json_t *jb;
		json_array_foreach(bs, b, jb) {
			if (get_str(jb, "id", r->buttons[b].id, sizeof r->buttons[b].id) ||
			    get_str(jb, "title", r->buttons[b].title, sizeof r->buttons[b].title))
				goto bad;
			r->n_buttons++;
		}
	}
	json_decref(o);
	return RD_OK;
bad:
	json_decref(o);
	outbound_free(ob);
	return RD_EPROTO;
}

enum rd_err outbound_add(struct outbound *o, const char *name, char *text)
{
	if (o->n_replies == MODEL_MAX_REPLIES) {
		free(text);
		return RD_ELIMIT;
	}
	struct reply *r = &o->replies[o->n_replies++];
	memset(r, 0, sizeof *r);
	model_strlcpy(r->name, name, sizeof r->name);
	r->text = text;
	return RD_OK;
}
