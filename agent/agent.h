/* agent.h — the agent core: one inbound message in, replies out.
 *
 * Knows nothing of HTTP or channels: it sees `struct message` and produces a
 * `struct outbound` (common/model.h). Understanding is built in (nlu.h);
 * every decision about money goes through the deterministic policy
 * (policy.h) and the mandate (mandate.h), and every step is sealed into the
 * audit chain (audit.h). Runs on worker threads with the worker's own
 * blocking Redis connection; an agent instance is read-only after agent_new
 * and shared by all workers.
 *
 * At-least-once safe: every effect (audit entry, mandate reservation,
 * refund, credit note, ticket) is keyed by the inbound message or the
 * refund request, so replaying a message after a crash repeats nothing. */
#ifndef RD_AGENT_H
#define RD_AGENT_H

#include <hiredis.h>
#include <jansson.h>
#include "agent/limits.h"
#include "agent/mandate.h"
#include "agent/orders.h"
#include "agent/policy.h"
#include "agent/rails.h"
#include "agent/templates.h"
#include "common/model.h"

struct llm;

struct agent_config {
	const struct policy_config *policy;   /* borrowed */
	const struct mandate_config *mandate; /* borrowed */
	const char *default_locale;
	int max_verify_attempts;              /* failed identity checks before a human */
	const char *issuer_name;
	const char *credit_note_prefix;       /* "NC-" */
	const char *issuer_tax_id;
	const char *issuer_address;
	int review_ttl_days;                  /* tickets expire after this */
	const struct rails *rails;            /* enabled rail instances (borrowed) */
	const char *public_url;               /* base of links sent to customers */
	const char *link_secret;              /* signs credit-note links */
	int link_ttl_days;
	struct llm *llm;                      /* borrowed; NULL: built-in understanding only
	                                         (agent/llm.h: data, never a decision) */
};

struct agent;

/* tpl and store are borrowed and must outlive the agent. */
enum rd_err agent_new(const struct agent_config *cfg, const struct templates *tpl,
		      const struct orders_store_ops *store, void *store_ctx,
		      struct agent **out) RD_WUR;
void agent_free(struct agent *a);

/* What one turn did, for metrics. */
struct turn_events {
	int decided;
	enum decision decision;
	int refunded;
	char rail[16];
	int64_t refund_minor;
	char refund_cur[MONEY_CUR_LEN];
	int credit_note;
	int escalated;
	int injection;
};

#define TURN_MAX_EXTRA 2
#define REVIEW_DESTINATION "review" /* extra outbound channel: the review channel, wherever it is */

/* The result of one turn: replies plus the dialog state to commit. */
struct turn {
	struct outbound out;          /* owned: to the customer (outbound_free) */
	struct outbound extra[TURN_MAX_EXTRA]; /* owned: elsewhere — a review card (channel
	                                  REVIEW_DESTINATION), a card update or a notice to a
	                                  reviewer (the click's channel) */
	int n_extra;
	struct turn_events ev;
	char state_json[2048];        /* dialog state of out.conversation_id (agent-private) */
};

/* What the caller learned in the round trip that started the turn, under
 * the conversation's lock (gateway/worker.c begin_turn). */
struct turn_start {
	const char *state;        /* the dialog state stored ("" when none) */
	enum limit_verdict limit; /* in counted against its customer's budget
	                             (limits_customer_append; LIMIT_OK when not counted) */
};

/* Handle one inbound message. Effects happen now (idempotently); the
 * dialog state and transcript are committed by the caller with
 * agent_commit_append inside its own MULTI, together with the outbox entry
 * and the inbound ack, so a turn is recorded exactly once. RD_EREDIS or
 * RD_EUNAVAIL: nothing is lost, retry the message later. */
enum rd_err agent_handle(struct agent *a, redisContext *rc, const struct message *in,
			 const struct turn_start *start, struct turn *t) RD_WUR;
void turn_free(struct turn *t);

/* Append (redisAppendCommand) the commands that store the turn's dialog
 * state and transcript; returns how many were appended. The inbound goes to
 * in's conversation; the state and the replies to t->out's (the same one,
 * except for a reviewer's click, which acts on the customer's). */
int agent_commit_append(redisContext *rc, const struct message *in, const struct turn *t);

/* Queue a review card for ticket id as an extra outbound of t. */
void turn_add_review_card(struct turn *t, const char *ticket);

/* A reviewer's click: in is a MSG_BUTTON on conversation "review:<ticket>"
 * whose payload is "review_approve:<ticket>" (or review_deny, review_info)
 * and whose channel_user_id is the reviewer. Approve refunds through the
 * same policy (a person may lift an escalation, never a denial), mandate and
 * rail as an automatic refund; deny and info tell the customer. The customer
 * is answered on their own channel (t->out); the card update and any note to
 * the reviewer are extras. A decided or expired ticket changes nothing. */
enum rd_err agent_review(struct agent *a, redisContext *rc, const struct message *in,
			 struct turn *t) RD_WUR;

/* A rail's news about a refund: in is a "system" message on the customer's
 * conversation whose payload is "rail_update" and whose text is
 * {"refund_id","status":"succeeded|failed","provider_refund_id","order_id",
 * "amount","currency","failure","tx_hash"} (a Stripe webhook, the refund
 * poller). A refund that succeeds is settled (credit note, the customer
 * told); one that fails releases its reservation, opens a ticket and tells
 * the customer the truth. Anything already settled changes nothing. */
enum rd_err agent_rail_update(struct agent *a, redisContext *rc, const struct message *in,
			      struct turn *t) RD_WUR;

/* Ask the rails about pending refunds (at most max, oldest first); for each
 * one that moved, emit() a rail_update message to ingest. Worker thread. */
void agent_poll_refunds(struct agent *a, redisContext *rc, size_t max,
			void (*emit)(const struct message *m, void *arg), void *arg);

/* {"conversation_id", "state": {...}, "channel", "transcript": [entries,
 * oldest first, at most TRANSCRIPT_MAX: agent/transcript.h]} (caller owns),
 * or NULL: when the conversation does not exist (*err RD_OK), or on Redis
 * failure (RD_EREDIS) or no memory (RD_ENOMEM). */
json_t *agent_conversation_json(redisContext *rc, const char *conversation_id, enum rd_err *err);

#endif
