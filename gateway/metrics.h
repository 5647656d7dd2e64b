/* metrics.h — process counters rendered in the Prometheus text format
 * (GET /metrics). Lock-free atomics for the fixed series; a small locked
 * table for the labelled money series. Any thread may count. */
#ifndef RD_METRICS_H
#define RD_METRICS_H

#include <stddef.h>
#include <stdint.h>

void metrics_message_in(const char *channel);
void metrics_message_out(const char *channel);
void metrics_decision(const char *outcome);                 /* approve | deny | escalate */
void metrics_refund(const char *rail, const char *currency, int64_t minor);
void metrics_credit_note(void);
void metrics_escalation(void);
void metrics_error(const char *kind);                       /* redis, parse, auth, send, rail, agent, … */
void metrics_reply_latency_ms(int64_t ms);                  /* inbound received → reply sent */
/* One LLM call (agent/llm.h observe hook): outcome ok | timeout | rate_limited | error |
 * invalid | attempt | rejected, its latency and the tokens the provider counted. */
void metrics_llm(const char *outcome, int64_t latency_ms, long prompt_tokens, long completion_tokens);

/* Render everything; returns a malloc'd NUL-terminated text, *len its length. */
char *metrics_render(size_t *len);

#endif
