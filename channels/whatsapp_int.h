/* whatsapp_int.h — what whatsapp.c (webhooks in) and whatsapp_out.c
 * (Graph API out) share. Private to channels/. */
#ifndef RD_WHATSAPP_INT_H
#define RD_WHATSAPP_INT_H

#include "channels/channel.h"

#define WA_MAX_MESSAGES 256     /* messages kept from one notification */
#define WA_MAX_TEMPLATES 16
#define WA_BODY_MAX 1024        /* characters of an interactive body */
#define WA_TITLE_MAX 20         /* characters of a button title */
#define WA_TEXT_MAX 4096        /* characters of a text message */
#define WA_DELIVERY_TTL_S (30 * 86400)
#define WA_PROGRESS_TTL_S 86400

struct wa_template {
	char name[48];              /* our reply name, or "*" */
	char tpl[128];              /* approved template name */
	char lang[16];              /* its language code: pt_BR */
};

struct wa {
	const struct config *cfg;
	struct wa_template tpls[WA_MAX_TEMPLATES];
	size_t n_tpls;
};

/* One statuses[] item of a notification: the delivery record of an
 * outbound message. Fields NUL-terminated. */
struct wa_status {
	char wamid[MODEL_ID_LEN];   /* our outbound message's id */
	char status[16];            /* "sent" | "delivered" | "read" | "failed" | … */
	char error_code[16];        /* Meta's errors[0].code in decimal, "" when none */
};

/* Meta "Webhooks", "Validating payloads": 1 when header is "sha256=" + hex
 * HMAC-SHA256(secret, body) (hex in either case), over the raw body bytes,
 * compared in constant time; 0 otherwise (missing prefix, wrong length). */
int wa_signature_ok(const char *secret, const char *header, const char *body, size_t len);

/* Read a webhook notification (Meta "Webhooks components: messages"): the
 * raw POST body, signature already checked. Every entry[].changes[].value:
 * messages[] → msgs (WA_MAX_MESSAGES slots, the caller's; each one filled
 * is owned by the caller: message_free), statuses[] → statuses
 * (WA_MAX_MESSAGES slots); items without a usable from/id are skipped and
 * logged. default_pnid (borrowed) routes replies when metadata has no
 * phone_number_id. RD_EPROTO when body is not a JSON object, with why set
 * ("malformed JSON at line L column C: …"); nothing is owned then. */
enum rd_err wa_parse_notification(const char *body, size_t len, const char *default_pnid,
				  struct message *msgs, size_t *n_msgs, struct wa_status *statuses,
				  size_t *n_statuses, char *why, size_t whylen) RD_WUR;

/* Deliver one outbox entry (channel_ops.send). */
enum rd_err wa_send(void *ctx, const struct send_env *env, const struct outbound *ob);
/* Read receipt for an inbound message (channel_ops.mark_read). */
void wa_mark_read(void *ctx, const struct send_env *env, const struct message *msg);

#endif
