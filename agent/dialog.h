/* dialog.h — per-conversation dialog state, kept in Redis as one JSON
 * document in the hash rd:conv:{conversation_id} (field "state"), beside
 * its transcript (transcript.h). Private to agent/. */
#ifndef RD_DIALOG_H
#define RD_DIALOG_H

#include <stdint.h>
#include <hiredis.h>
#include "common/money.h"
#include "common/rd.h"

#define TRANSCRIPT_MAX 500 /* entries kept per conversation */

enum dstate {
	DS_IDLE = 0,
	DS_AWAIT_ORDER,      /* asked for the order number */
	DS_AWAIT_EMAIL,      /* asked for the email on the order */
	DS_AWAIT_CONFIRM,    /* offered a refund, waiting for yes/no */
	DS_ESCALATED,        /* a person has it */
};

struct dialog {
	enum dstate state;
	char locale[16];
	char order_id[64];
	char email[256];
	char reason[24];              /* reason_name() */
	int64_t amount;               /* requested, minor units; 0 = all that remains */
	char amount_cur[MONEY_CUR_LEN];
	int attempts;                 /* failed order/identity checks */
	char ticket[32];
	char request[320];            /* the customer's request, redacted, for reviewers */
	/* the refund offered, waiting for confirmation */
	char offer_key[80];
	int64_t offer_amount;
	char offer_cur[MONEY_CUR_LEN];
	/* the last refund done */
	char last_refund[80];
};

const char *dstate_name(enum dstate s);
/* Load (zeroed when absent). RD_EREDIS on failure. */
enum rd_err dialog_load(redisContext *rc, const char *cid, struct dialog *d) RD_WUR;
/* Fill d from the stored state text s[0..len) (as rd:conv:{cid} state holds
 * it); zeroed when len is 0 or the text is not a dialog state. */
void dialog_parse(const char *s, size_t len, struct dialog *d);
/* Serialize to JSON text in out; RD_ELIMIT if it does not fit. */
enum rd_err dialog_to_json(const struct dialog *d, char *out, size_t n) RD_WUR;

#endif
