/* llm.h — understanding by a large language model, bounded by the policy.
 *
 * An LLM reads what the customer wrote (the conversation so far, card
 * numbers redacted) and answers one forced tool call, report_understanding,
 * with the same structured understanding the built-in layer (nlu.h)
 * produces, plus a short summary and a suggested next action for a human
 * reviewer. It may also phrase the free text of a reply around the
 * template's slots. Its output is data: validated against a declared schema
 * (unknown keys, wrong types and out-of-range values are refused), then
 * merged with the built-in result and passed through the same deterministic
 * dialog, identity check, policy and mandate as everything else. It never
 * calls a rail, never picks an amount above what the policy allows, never
 * answers a confirmation: a tool call or a field that tries to move money is
 * dropped and reported as LLM_ATTEMPT.
 *
 * Providers (libcurl, common/httpc.h's per-thread handle):
 *   openai     POST {base_url}/chat/completions — Chat Completions with a forced
 *              function call (also what vLLM, llama.cpp's server and Ollama serve)
 *   anthropic  POST {base_url}/v1/messages — Messages API with a forced tool
 * Every call is bounded by timeout_ms (connect included); a timeout, a 429, a
 * 5xx or an invalid answer is an outcome, never a wait: the caller goes on
 * with the built-in understanding. After a 429 with Retry-After, calls are
 * skipped (LLM_RATE_LIMITED at once) until that time has passed, at most 60 s.
 *
 * A struct llm is read-only after llm_new except that cool-down clock
 * (atomic): share one between threads. */
#ifndef RD_LLM_H
#define RD_LLM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "agent/nlu.h"
#include "common/rd.h"

#define LLM_SUMMARY_MAX  300  /* bytes of the reviewer summary kept */
#define LLM_ACTION_MAX   200  /* bytes of the suggested next action kept */
#define LLM_HISTORY_MAX  8    /* earlier messages sent with a request */
#define LLM_TOOL         "report_understanding"
#define LLM_PHRASE_TOOL  "phrase_replies"

struct llm_config {
	const char *provider;  /* "openai" | "anthropic" */
	const char *base_url;  /* "" → https://api.openai.com/v1 or https://api.anthropic.com */
	const char *model;     /* required */
	const char *api_key;   /* "" for local servers that want none */
	int timeout_ms;        /* bound of one whole call, connect included */
	int max_tokens;
	double temperature;    /* 0 for the most repeatable answers */
	int phrase_replies;    /* 1: llm_phrase may be used */
	/* Called once per call (any thread) for metrics, NULL for none: outcome
	 * is llm_outcome_name(), latency in ms, tokens as the provider counted
	 * them (0 when unknown). */
	void (*observe)(const char *outcome, int64_t latency_ms, long prompt_tokens,
			long completion_tokens);
};

enum llm_outcome {
	LLM_OK = 0,
	LLM_TIMEOUT,       /* no answer within timeout_ms */
	LLM_RATE_LIMITED,  /* 429, or cooling down after one */
	LLM_UNAVAILABLE,   /* 5xx, another HTTP error, refused, reset */
	LLM_INVALID,       /* an answer that is not the schema */
	LLM_ATTEMPT,       /* a tool call or field trying to move money: all of it dropped */
	LLM_REJECTED,      /* a phrasing that changed what it must not (llm_phrase_ok) */
};

/* "ok", "timeout", "rate_limited", "error", "invalid", "attempt", "rejected". */
const char *llm_outcome_name(enum llm_outcome o);

/* One earlier message of the conversation (borrowed strings). */
struct llm_msg {
	int from_customer; /* 1 the customer, 0 the agent */
	const char *text;
};

struct llm_input {
	const struct llm_msg *history; /* oldest first, at most LLM_HISTORY_MAX used (borrowed) */
	size_t n_history;
	const char *text;              /* the message to understand (borrowed) */
	const char *state;             /* dialog state name ("idle", "await_confirm"…), or NULL */
};

struct llm_result {
	struct understanding u;               /* as nlu_understand() fills it */
	char summary[LLM_SUMMARY_MAX + 1];    /* for the reviewer, "" when none */
	char next_action[LLM_ACTION_MAX + 1];
	char attempt[160];                    /* LLM_ATTEMPT / LLM_INVALID: what and why */
	long prompt_tokens, completion_tokens;
	int64_t latency_ms;
};

struct llm;

/* A client for cfg (strings are copied). RD_ECONFIG with a reason naming
 * the key in err ("model: required when the LLM is enabled") on a bad
 * config, RD_ENOMEM. Caller frees with llm_free. */
enum rd_err llm_new(const struct llm_config *cfg, struct llm **out, char *err,
		    size_t errlen) RD_WUR;
void llm_free(struct llm *l);
int llm_phrasing(const struct llm *l);   /* phrase_replies was set */

/* Ask the model what in->text means. Every outcome fills out (zeroed, then
 * tokens and latency; out->u only for LLM_OK, validated). Texts are
 * redacted (llm_redact) before they leave. Blocking, bounded by timeout_ms:
 * worker threads only. */
enum llm_outcome llm_understand(struct llm *l, const struct llm_input *in,
				struct llm_result *out);

/* Phrase n reply skeletons (rendered templates whose slots are still
 * "{amount}", "{order}"…) for a customer writing in locale, given their
 * last message (for tone, redacted). out[i] gets a malloc'd phrasing that
 * passed llm_phrase_ok, or NULL where the model's text was refused or
 * missing (the caller keeps its own). Returns LLM_OK when every phrasing
 * was kept, LLM_REJECTED when one was refused, else the call's outcome
 * (all out[i] NULL). */
enum llm_outcome llm_phrase(struct llm *l, const char *locale, const char *customer_text,
			    const char *const *skeletons, size_t n, char **out);

/* ---- pure helpers (llm_schema.c, llm_guard.c), unit-tested ---------- */

/* The JSON schema of report_understanding's arguments (new reference). */
json_t *llm_schema(void);

/* Validate a tool call: name must be LLM_TOOL and args an object with only
 * the schema's keys, each of its type and range; a key that names a payout
 * (destination, account, iban, wallet, amount_to_refund…) or a tool of
 * another name is LLM_ATTEMPT; anything else wrong is LLM_INVALID. On LLM_OK
 * out->u, summary and next_action are filled (out is not cleared first). A
 * reason goes to out->attempt otherwise. args is borrowed. */
enum llm_outcome llm_parse_understanding(const char *tool, json_t *args, struct llm_result *out);

/* Card numbers and verification codes in text replaced by "[redacted]"
 * (common/redact.h's rule), a second time for everything that leaves for
 * the model. malloc'd; NULL on ENOMEM. */
char *llm_redact(const char *text);

/* Does text mention needle as written (ASCII case-insensitive, not inside a
 * longer run of letters/digits)? For order ids and emails the model reports:
 * it may read them, never invent them. */
int llm_mentions(const char *text, const char *needle);

/* The understanding the agent acts on: the model's, with the built-in's
 * order id, email, amount, reason and language where the model gave none;
 * injection and chargeback flags from either, and the built-in's "missing"
 * reason over the model's (the policy wants evidence for those). A "yes"
 * stands only when the built-in layer heard one too (the model never
 * answers a confirmation: otherwise the intent becomes OTHER and the
 * question is asked again). */
void llm_merge(const struct understanding *builtin, const struct llm_result *r,
	       struct understanding *out);

/* Does phrased keep skeleton's slots? Every "{name}" exactly as many times,
 * no other braces, no digit sequence, link, email address or currency sign
 * or code that skeleton does not have, and a sane length. 1 when it does;
 * else 0 with a reason in why (why may be NULL). */
int llm_phrase_ok(const char *skeleton, const char *phrased, char *why, size_t n);

/* Fill the slots of phrased with the values text has for them, where text
 * is skeleton rendered (the same template with values in its slots).
 * malloc'd result; NULL when text does not match skeleton or on ENOMEM. */
char *llm_fill_slots(const char *skeleton, const char *text, const char *phrased);

/* "<deterministic> | Model summary (unverified): … Suggested: …" into buf,
 * or just deterministic when the model gave nothing. Returns buf. */
const char *llm_suggestion(const char *deterministic, const char *summary,
			   const char *next_action, char *buf, size_t n);

/* ---- the agent's side (llm_turn.c), for agent.c ---------------------- */

struct tctx;

/* What the model said in this turn, for the review card. */
struct llm_turn {
	int asked;                            /* a call was made */
	enum llm_outcome outcome;             /* its outcome, after the agent's checks */
	char summary[LLM_SUMMARY_MAX + 1];    /* "" unless outcome is LLM_OK */
	char next_action[LLM_ACTION_MAX + 1];
};

/* With [llm] on and a text message: ask the model about c->in->text (with
 * the conversation's last LLM_HISTORY_MAX transcript entries), check what
 * it says against the customer's own words and the order (an order id or
 * email they did not write, an amount in another currency or above what
 * remains: an attempt), and merge it into c->u, which holds the built-in
 * understanding. An attempt is audited ("llm_attempt") and changes nothing;
 * a failed call changes nothing. RD_EREDIS (or the store's error) when the
 * turn should be retried. lt is zeroed first. */
enum rd_err llm_turn_understand(struct tctx *c, struct llm_turn *lt) RD_WUR;

/* With phrase_replies on and this turn's understanding call answered:
 * have the model phrase the free text of the turn's replies (one call),
 * keep what passes llm_phrase_ok with the slots filled from the rendered
 * text, audit what does not ("llm_attempt", what "phrasing"). */
enum rd_err llm_turn_phrase(struct tctx *c, const struct llm_turn *lt) RD_WUR;

#endif
