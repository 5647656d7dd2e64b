#include "gateway/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rd.h"

#define LABELLED_MAX 64

/* A counter per label value; unknown values share the "other" slot. */
struct labelled {
	const char *const *names;
	size_t n;
	atomic_llong *v;
};

static const char *const channels[] = { "whatsapp", "slack", "webchat", "test", "other" };
static const char *const outcomes[] = { "approve", "deny", "escalate" };
static const char *const error_kinds[] = { "redis", "parse", "auth", "send", "rail",
					   "agent", "store", "http", "other" };
static atomic_llong in_v[RD_ARRAY_LEN(channels)], out_v[RD_ARRAY_LEN(channels)];
static atomic_llong dec_v[RD_ARRAY_LEN(outcomes)], err_v[RD_ARRAY_LEN(error_kinds)];
static atomic_llong credit_notes, escalations;

/* reply latency histogram, seconds */
static const double bucket_s[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const int64_t bucket_ms[] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };
static atomic_llong lat_bucket[RD_ARRAY_LEN(bucket_ms)], lat_count, lat_sum_ms;

/* LLM calls: by outcome, latency histogram (seconds), tokens */
static const char *const llm_outcomes[] = { "ok", "timeout", "rate_limited", "error", "invalid",
					    "attempt", "rejected" };
static const double llm_bucket_s[] = { 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30 };
static const int64_t llm_bucket_ms[] = { 100, 250, 500, 1000, 2000, 3000, 5000, 10000, 30000 };
static atomic_llong llm_v[RD_ARRAY_LEN(llm_outcomes)], llm_bucket[RD_ARRAY_LEN(llm_bucket_ms)];
static atomic_llong llm_count, llm_sum_ms, llm_tokens_prompt, llm_tokens_completion;

/* money series keyed by (rail, currency) and (currency) */
static pthread_mutex_t money_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { char rail[16], cur[8]; long long refunds, minor; } money[LABELLED_MAX];
static size_t n_money;

static size_t slot(const char *const *names, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return n - 1;
}

void metrics_message_in(const char *c) { atomic_fetch_add(&in_v[slot(channels, RD_ARRAY_LEN(channels), c)], 1); }
void metrics_message_out(const char *c) { atomic_fetch_add(&out_v[slot(channels, RD_ARRAY_LEN(channels), c)], 1); }
void metrics_credit_note(void) { atomic_fetch_add(&credit_notes, 1); }
void metrics_escalation(void) { atomic_fetch_add(&escalations, 1); }
void metrics_error(const char *k) { atomic_fetch_add(&err_v[slot(error_kinds, RD_ARRAY_LEN(error_kinds), k)], 1); }

void metrics_decision(const char *o)
{
	for (size_t i = 0; i < RD_ARRAY_LEN(outcomes); i++)
		if (strcmp(outcomes[i], o) == 0)
			atomic_fetch_add(&dec_v[i], 1);
}

void metrics_refund(const char *rail, const char *cur, int64_t minor)
{
	pthread_mutex_lock(&money_mu);
	size_t i;
	for (i = 0; i < n_money; i++)
		if (strcmp(money[i].rail, rail) == 0 && strcmp(money[i].cur, cur) == 0)
			break;
	if (i == n_money && n_money < LABELLED_MAX) {
		snprintf(money[i].rail, sizeof money[i].rail, "%s", rail);
		snprintf(money[i].cur, sizeof money[i].cur, "%s", cur);
		n_money++;
	}
	if (i < n_money) {
		money[i].refunds++;
		money[i].minor += minor;
	}
	pthread_mutex_unlock(&money_mu);
}

void metrics_reply_latency_ms(int64_t ms)
{
	if (ms < 0)
		ms = 0;
	for (size_t i = 0; i < RD_ARRAY_LEN(bucket_ms); i++)
		if (ms <= bucket_ms[i])
			atomic_fetch_add(&lat_bucket[i], 1);
	atomic_fetch_add(&lat_count, 1);
	atomic_fetch_add(&lat_sum_ms, ms);
}

void metrics_llm(const char *outcome, int64_t ms, long prompt_tokens, long completion_tokens)
{
	size_t i = slot(llm_outcomes, RD_ARRAY_LEN(llm_outcomes), outcome);
	atomic_fetch_add(&llm_v[i], 1);
	if (ms < 0)
		ms = 0;
	for (size_t b = 0; b < RD_ARRAY_LEN(llm_bucket_ms); b++)
		if (ms <= llm_bucket_ms[b])
			atomic_fetch_add(&llm_bucket[b], 1);
	atomic_fetch_add(&llm_count, 1);
	atomic_fetch_add(&llm_sum_ms, ms);
	atomic_fetch_add(&llm_tokens_prompt, prompt_tokens > 0 ? prompt_tokens : 0);
	atomic_fetch_add(&llm_tokens_completion, completion_tokens > 0 ? completion_tokens : 0);
}

struct out {
	char *buf;
	size_t len, cap;
};

RD_PRINTF(2, 3) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n;
		char *b = realloc(o->buf, cap);
		if (!b)
			return;
		o->buf = b;
		o->cap = cap;
	}
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *metrics_render(size_t *len)
{
	struct out o = { malloc(4096), 0, 4096 };
	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	family(&o, "redress_messages_in_total", "counter", "Inbound messages accepted, by channel.");
	for (size_t i = 0; i < RD_ARRAY_LEN(channels); i++)
		put(&o, "redress_messages_in_total{channel=\"%s\"} %lld\n", channels[i], atomic_load(&in_v[i]));
	family(&o, "redress_messages_out_total", "counter", "Replies delivered, by channel.");
	for (size_t i = 0; i < RD_ARRAY_LEN(channels); i++)
		put(&o, "redress_messages_out_total{channel=\"%s\"} %lld\n", channels[i], atomic_load(&out_v[i]));
	family(&o, "redress_decisions_total", "counter", "Policy decisions, by outcome.");
	for (size_t i = 0; i < RD_ARRAY_LEN(outcomes); i++)
		put(&o, "redress_decisions_total{outcome=\"%s\"} %lld\n", outcomes[i], atomic_load(&dec_v[i]));
	family(&o, "redress_refunds_total", "counter", "Refunds executed, by rail and currency.");
	pthread_mutex_lock(&money_mu);
	for (size_t i = 0; i < n_money; i++)
		put(&o, "redress_refunds_total{rail=\"%s\",currency=\"%s\"} %lld\n", money[i].rail,
		    money[i].cur, money[i].refunds);
	family(&o, "redress_refunded_minor_units_total", "counter", "Minor units refunded, by currency.");
	for (size_t i = 0; i < n_money; i++) {
		long long sum = 0;
		int first = 1;
		for (size_t j = 0; j < n_money; j++) {
			if (strcmp(money[j].cur, money[i].cur) != 0)
				continue;
			if (j < i)
				first = 0;
			sum += money[j].minor;
		}
		if (first)
			put(&o, "redress_refunded_minor_units_total{currency=\"%s\"} %lld\n", money[i].cur, sum);
	}
	pthread_mutex_unlock(&money_mu);
	family(&o, "redress_credit_notes_total", "counter", "Credit notes issued.");
	put(&o, "redress_credit_notes_total %lld\n", atomic_load(&credit_notes));
	family(&o, "redress_escalations_total", "counter", "Review tickets opened.");
	put(&o, "redress_escalations_total %lld\n", atomic_load(&escalations));
	family(&o, "redress_errors_total", "counter", "Errors, by kind.");
	for (size_t i = 0; i < RD_ARRAY_LEN(error_kinds); i++)
		put(&o, "redress_errors_total{kind=\"%s\"} %lld\n", error_kinds[i], atomic_load(&err_v[i]));
	family(&o, "redress_reply_latency_seconds", "histogram", "Inbound message to reply sent.");
	for (size_t i = 0; i < RD_ARRAY_LEN(bucket_ms); i++)
		put(&o, "redress_reply_latency_seconds_bucket{le=\"%g\"} %lld\n", bucket_s[i],
		    atomic_load(&lat_bucket[i]));
	long long count = atomic_load(&lat_count), sum_ms = atomic_load(&lat_sum_ms);
	put(&o, "redress_reply_latency_seconds_bucket{le=\"+Inf\"} %lld\n", count);
	put(&o, "redress_reply_latency_seconds_sum %lld.%03lld\n", sum_ms / 1000, sum_ms % 1000);
	put(&o, "redress_reply_latency_seconds_count %lld\n", count);
	family(&o, "redress_llm_requests_total", "counter", "LLM calls, by outcome.");
	for (size_t i = 0; i < RD_ARRAY_LEN(llm_outcomes); i++)
		put(&o, "redress_llm_requests_total{outcome=\"%s\"} %lld\n", llm_outcomes[i],
		    atomic_load(&llm_v[i]));
	family(&o, "redress_llm_latency_seconds", "histogram", "LLM call, request to answer (or timeout).");
	for (size_t i = 0; i < RD_ARRAY_LEN(llm_bucket_ms); i++)
		put(&o, "redress_llm_latency_seconds_bucket{le=\"%g\"} %lld\n", llm_bucket_s[i],
		    atomic_load(&llm_bucket[i]));
	count = atomic_load(&llm_count);
	sum_ms = atomic_load(&llm_sum_ms);
	put(&o, "redress_llm_latency_seconds_bucket{le=\"+Inf\"} %lld\n", count);
	put(&o, "redress_llm_latency_seconds_sum %lld.%03lld\n", sum_ms / 1000, sum_ms % 1000);
	put(&o, "redress_llm_latency_seconds_count %lld\n", count);
	family(&o, "redress_llm_tokens_total", "counter", "LLM tokens, as the provider counted them.");
	put(&o, "redress_llm_tokens_total{kind=\"prompt\"} %lld\n", atomic_load(&llm_tokens_prompt));
	put(&o, "redress_llm_tokens_total{kind=\"completion\"} %lld\n",
	    atomic_load(&llm_tokens_completion));
	*len = o.len;
	return o.buf;
}
