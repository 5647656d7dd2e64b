/* llm_anthropic.c — the Anthropic Messages wire format
 * (POST {base_url}/v1/messages, x-api-key, anthropic-version: 2023-06-01).
 *
 * Request: {"model", "max_tokens", "temperature", "system", "messages":
 *   [{"role": "user", "content"}], "tools": [{"name", "description",
 *   "input_schema"}], "tool_choice": {"type": "tool", "name"}}.
 * Answer: content[] items of type "tool_use" with "name" and "input" (an
 * object); usage.input_tokens / output_tokens. */
#include "agent/llm_int.h"

#include <stdio.h>
#include <string.h>

#define ANTHROPIC_VERSION "2023-06-01"

static json_t *request(const struct llm *l, const struct llm_call *c)
{
	return json_pack("{s:s, s:i, s:f, s:s, s:[{s:s, s:s}], s:[{s:s, s:s, s:O}], s:{s:s, s:s}}",
			 "model", l->model, "max_tokens", l->max_tokens, "temperature", l->temperature,
			 "system", c->system,
			 "messages", "role", "user", "content", c->user,
			 "tools", "name", c->tool, "description", c->tool_desc, "input_schema", c->schema,
			 "tool_choice", "type", "tool", "name", c->tool);
}

static struct curl_slist *headers(const struct llm *l, struct curl_slist *h)
{
	char key[600];
	h = curl_slist_append(h, "anthropic-version: " ANTHROPIC_VERSION);
	if (!l->api_key[0])
		return h;
	snprintf(key, sizeof key, "x-api-key: %s", l->api_key);
	return curl_slist_append(h, key);
}

static enum llm_outcome parse(const char *body, size_t len, struct llm_reply *out, char *why,
			      size_t n)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	enum llm_outcome oc = LLM_INVALID;

	if (!json_is_object(root)) {
		snprintf(why, n, "answer is not a JSON object");
		goto out;
	}
	json_t *usage = json_object_get(root, "usage");
	out->prompt_tokens = (long)json_integer_value(json_object_get(usage, "input_tokens"));
	out->completion_tokens = (long)json_integer_value(json_object_get(usage, "output_tokens"));
	json_t *content = json_object_get(root, "content");
	if (!json_is_array(content)) {
		snprintf(why, n, "no content array");
		goto out;
	}
	size_t i;
	json_t *item;
	json_array_foreach(content, i, item) {
		const char *type = json_string_value(json_object_get(item, "type"));
		if (!type || strcmp(type, "tool_use") != 0)
			continue; /* text blocks say nothing we act on */
		if (out->n_uses == LLM_MAX_USES) {
			snprintf(why, n, "more than %d tool calls", LLM_MAX_USES);
			goto out;
		}
		struct llm_tool_use *u = &out->uses[out->n_uses++];
		const char *name = json_string_value(json_object_get(item, "name"));
		if (name && strlen(name) < sizeof u->name)
			memcpy(u->name, name, strlen(name) + 1);
		else
			snprintf(u->name, sizeof u->name, "?");
		json_t *input = json_object_get(item, "input");
		if (json_is_object(input))
			u->args = json_incref(input);
	}
	if (out->n_uses == 0) {
		snprintf(why, n, "no tool_use in content");
		goto out;
	}
	oc = LLM_OK;
out:
	json_decref(root);
	return oc;
}

const struct llm_provider llm_anthropic = {
	.name = "anthropic",
	.default_base = "https://api.anthropic.com",
	.path = "/v1/messages",
	.request = request,
	.headers = headers,
	.parse = parse,
};
