/* model.h — the one conversation model every channel normalizes to
 * (DESIGN.md, "The conversation model"), and the agent's replies.
 *
 * Messages cross the inbound stream and the outbox as JSON (model.c). */
#ifndef RD_MODEL_H
#define RD_MODEL_H

#include <stdint.h>
#include "common/rd.h"

#define MODEL_ID_LEN 192     /* ids: conversation, message, user */
#define MODEL_CHANNEL_LEN 16
#define MODEL_LOCALE_LEN 16
#define MODEL_BUTTON_ID_LEN 64
#define MODEL_BUTTON_TITLE_LEN 64
#define MODEL_MAX_BUTTONS 3
#define MODEL_MAX_REPLIES 6
#define MODEL_MAX_TEXT (4u << 10) /* bytes of user text kept; longer is cut at a UTF-8 boundary */

enum msg_kind { MSG_TEXT = 0, MSG_BUTTON, MSG_STATUS, MSG_UNSUPPORTED };

/* One normalized inbound message. Fixed-size fields are NUL-terminated. */
struct message {
	char channel[MODEL_CHANNEL_LEN];        /* "whatsapp" | "slack" | "webchat" | "test" */
	char channel_user_id[MODEL_ID_LEN];     /* wa_id, Slack user id, session, test user */
	char conversation_id[MODEL_ID_LEN];     /* stable per (channel, user[, thread]) */
	char message_id[MODEL_ID_LEN];          /* the platform's id: the dedupe key */
	enum msg_kind kind;
	char *text;                             /* owned, UTF-8; NULL when none */
	char payload[MODEL_BUTTON_ID_LEN];      /* button id for MSG_BUTTON; status for MSG_STATUS */
	char locale[MODEL_LOCALE_LEN];          /* hint from the channel, "" when none */
	char verified_phone[32];                /* E.164 ("+5511…") when the channel proves it, else "" */
	char display_name[128];                 /* profile name when the channel gives one */
	char *route;                            /* owned opaque JSON the channel needs to answer
	                                           (thread ts, Slack channel…); NULL when none */
	int64_t received_at_ms;                 /* server time, ms since the epoch */
	int64_t platform_ts;                    /* platform's timestamp (s), 0 when none */
	int is_test;                            /* injected through the test channel */
	int attempt;                            /* how many times the worker has been handed it
	                                           (the stream's delivery count: 1 the first
	                                           time); 0 when unknown. Not serialized. */
};

struct button {
	char id[MODEL_BUTTON_ID_LEN];
	char title[MODEL_BUTTON_TITLE_LEN];
};

struct reply {
	char name[48];                          /* template name it was rendered from ("refunded") */
	char *text;                             /* owned, UTF-8 */
	struct button buttons[MODEL_MAX_BUTTONS];
	int n_buttons;
};

/* What the agent sends back for one inbound message: the outbox entry. */
struct outbound {
	char kind[16];                          /* "" a reply to the customer; "review_card" post
	                                           ticket `ref` for reviewers; "card_update" show a
	                                           decision on its card; "notice" a note to the
	                                           person who clicked (route says where) */
	char ref[64];                           /* ticket id for review kinds, else "" */
	char channel[MODEL_CHANNEL_LEN];
	char channel_user_id[MODEL_ID_LEN];
	char conversation_id[MODEL_ID_LEN];
	char in_reply_to[MODEL_ID_LEN];         /* inbound message_id, "" for a push (review decision) */
	char locale[MODEL_LOCALE_LEN];
	char *route;                            /* owned copy of the inbound route */
	int64_t received_at_ms;                 /* of the inbound message, for reply latency */
	struct reply replies[MODEL_MAX_REPLIES];
	int n_replies;
};

void message_free(struct message *m);   /* frees owned fields, not m itself */
void outbound_free(struct outbound *o); /* idem */

/* Copy src into a fixed field, cutting at a UTF-8 boundary. Returns 1 if cut. */
int model_strlcpy(char *dst, const char *src, size_t dstlen);

/* Serialize to a compact JSON string (caller frees with free()). NULL on ENOMEM. */
char *message_to_json(const struct message *m);
char *outbound_to_json(const struct outbound *o);

/* Parse what *_to_json wrote. RD_EPROTO on malformed input; *m is zeroed
 * first and owns its fields after success (free with message_free). */
enum rd_err message_from_json(const char *s, size_t len, struct message *m) RD_WUR;
enum rd_err outbound_from_json(const char *s, size_t len, struct outbound *o) RD_WUR;

/* Add a reply (takes ownership of text). RD_ELIMIT when full (text is freed). */
enum rd_err outbound_add(struct outbound *o, const char *name, char *text) RD_WUR;

#endif
