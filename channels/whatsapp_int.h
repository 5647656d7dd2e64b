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

/* Deliver one outbox entry (channel_ops.send). */
enum rd_err wa_send(void *ctx, const struct send_env *env, const struct outbound *ob);
/* Read receipt for an inbound message (channel_ops.mark_read). */
void wa_mark_read(void *ctx, const struct send_env *env, const struct message *msg);

#endif
