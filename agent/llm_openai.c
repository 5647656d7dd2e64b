/* llm_openai.c — the OpenAI Chat Completions wire format, which vLLM,
 * llama.cpp's server and Ollama also serve (POST {base_url}/chat/completions).
 *
 * Request: {"model", "messages": [{"role": "system"}, {"role": "user"}],
 *   "tools": [{"type": "function", "function": {"name", "description",
 *   "parameters": <JSON schema>}}], "tool_choice": {"type": "function",
 *   "function": {"name"}}, "temperature", "max_tokens"}, Authorization: Bearer.
 * Answer: choices[0].message.tool_calls[].function.{name, arguments}, where
 * arguments is a JSON text; usage.prompt_tokens / completion_tokens. */
#include "agent/llm_int.h"

#include <stdio.h>
#include <string.h>

static json_t *request(const struct llm *l, const struct llm_call *c)
{
	return json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s, s:{s:s, s:s, s:O}}], "
			 "s:{s:s, s:{s:s}}, s:f, s:i}",
			 "model", l->model,
			 "messages", "role", "system", "content", c->system, "role", "user", "content", c->user,
			 "tools", "type", "function", "function", "name", c->tool, "description",
			 c->tool_desc, "parameters", c->schema,
			 "tool_choice", "type", "function", "function", "name", c->tool,
			 "temperature", l->temperature, "max_tokens", l->max_tokens);
}

static struct curl_slist *headers(const struct llm *l, struct curl_slist *h)
{
	char auth[600];
	if (!l->api_key[0])
		return h;
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", l->api_key);
	return curl_slist_append(h, auth);
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
	out->prompt_tokens = (long)json_integer_value(json_object_get(usage, "prompt_tokens"));
	out->completion_tokens = (long)json_integer_value(json_object_get(usage, "completion_tokens"));
	json_t *msg = json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message");
	json_t *calls = json_object_get(msg, "tool_calls");
	if (!json_is_array(calls) || json_array_size(calls) == 0) {
		snprintf(why, n, "no tool_calls in choices[0].message");
		goto out;
	}
	size_t i;
	json_t *tc;
	if (json_array_size(calls) > LLM_MAX_USES) {
		snprintf(why, n, "%zu tool calls", json_array_size(calls));
		goto out;
	}
	json_array_foreach(calls, i, tc) {
		struct llm_tool_use *u = &out->uses[out->n_uses++];
		json_t *fn = json_object_get(tc, "function");
		const char *name = json_string_value(json_object_get(fn, "name"));
		const char *args = json_string_value(json_object_get(fn, "arguments"));
		if (name && strlen(name) < sizeof u->name)
			memcpy(u->name, name, strlen(name) + 1);
		else
			snprintf(u->name, sizeof u->name, "?");
		json_t *a = args ? json_loads(args, JSON_REJECT_DUPLICATES, &je) : NULL;
		if (json_is_object(a))
			u->args = a;
		else
			json_decref(a);
	}
	oc = LLM_OK;
out:
	json_decref(root);
	return oc;
}

const struct llm_provider llm_openai = {
	.name = "openai",
	.default_base = "https://api.openai.com/v1",
	.path = "/chat/completions",
	.request = request,
	.headers = headers,
	.parse = parse,
};
