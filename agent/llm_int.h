/* llm_int.h — what the files of the llm module share: the client and the
 * provider seam (llm_openai.c, llm_anthropic.c). Private to agent/llm*.c. */
#ifndef RD_LLM_INT_H
#define RD_LLM_INT_H

#include <stdatomic.h>
#include <curl/curl.h>
#include "agent/llm.h"

#define LLM_MAX_USES 4          /* tool calls read from one answer */
#define LLM_MAX_RESPONSE (256u << 10) /* bytes of an answer kept; longer is invalid */

/* One request: a system prompt, one user message, one forced tool. */
struct llm_call {
	const char *system;      /* borrowed */
	const char *user;        /* borrowed: the user message (JSON text) */
	const char *tool;        /* the tool the model must call */
	const char *tool_desc;
	json_t *schema;          /* borrowed: the tool's input schema */
};

/* What came back. */
struct llm_tool_use {
	char name[64];           /* "" when the name was missing or too long */
	json_t *args;            /* owned; NULL when the arguments were not a JSON object */
};

struct llm_reply {
	struct llm_tool_use uses[LLM_MAX_USES];
	size_t n_uses;
	long prompt_tokens, completion_tokens;
};

/* A provider's wire format. */
struct llm_provider {
	const char *name;              /* "openai" | "anthropic" */
	const char *default_base;      /* base_url when the config gives none */
	const char *path;              /* appended to base_url */
	/* The request body (new reference, NULL on ENOMEM). */
	json_t *(*request)(const struct llm *l, const struct llm_call *c);
	/* Headers besides Content-Type (appended to *h; the key is l->api_key). */
	struct curl_slist *(*headers)(const struct llm *l, struct curl_slist *h);
	/* A 2xx body into out (tool calls and usage). LLM_OK, or LLM_INVALID
	 * with a reason in why. */
	enum llm_outcome (*parse)(const char *body, size_t len, struct llm_reply *out, char *why,
				  size_t n);
};

extern const struct llm_provider llm_openai, llm_anthropic;

struct llm {
	const struct llm_provider *p;
	char url[512];
	char model[128];
	char api_key[512];
	int timeout_ms;
	int max_tokens;
	double temperature;
	int phrase_replies;
	void (*observe)(const char *outcome, int64_t latency_ms, long prompt_tokens,
			long completion_tokens);
	json_t *schema;          /* report_understanding's input schema */
	json_t *phrase_schema;   /* phrase_replies' */
	atomic_llong cool_until; /* mono ms: no calls before this (after a 429) */
};

void llm_reply_free(struct llm_reply *r);

#endif
