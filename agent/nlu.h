/* nlu.h — built-in, offline understanding of one customer message:
 * language, intent and entities. Pure functions: no I/O, thread-safe.
 * English, Brazilian Portuguese and Spanish. */
#ifndef RD_NLU_H
#define RD_NLU_H

#include "common/money.h"

enum intent {
	INTENT_OTHER = 0,
	INTENT_REFUND,     /* wants money back, or reports a problem that implies it */
	INTENT_STATUS,     /* where is my refund */
	INTENT_HUMAN,      /* talk to a person */
	INTENT_YES,
	INTENT_NO,
	INTENT_GREETING,
	INTENT_THANKS,
};

enum reason {
	REASON_NONE = 0,
	REASON_DAMAGED,
	REASON_WRONG_ITEM,
	REASON_NOT_AS_DESCRIBED,
	REASON_LATE,
	REASON_MISSING,       /* never arrived */
	REASON_CHANGED_MIND,
};

struct understanding {
	char lang[4];          /* "en" | "pt" | "es"; "" when nothing tells */
	enum intent intent;
	char order_id[64];     /* "8421", "ord_55419"; "" when none */
	char email[256];       /* lower-cased; "" when none */
	int has_amount;
	struct money amount;   /* amount.cur "" when the text gave no currency;
	                          minor units then assume 2 decimals */
	enum reason reason;
	int injection;         /* looks like an attempt to override the rules */
	int chargeback_threat; /* mentions a chargeback / dispute with the bank */
};

/* Understand text (UTF-8, NUL-terminated). Never fails: unknown text gives
 * INTENT_OTHER and empty entities. */
void nlu_understand(const char *text, struct understanding *out);

const char *intent_name(enum intent i);   /* "refund_request", "refund_status", "human", … */
const char *reason_name(enum reason r);   /* "damaged", "wrong_item", … "" for none */

#endif
