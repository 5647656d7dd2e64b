/* nlu_int.h — what nlu.c and nlu_entities.c share (one module, two files).
 * Private to agent/; contracts are at the definitions in nlu_entities.c. */
#ifndef RD_NLU_INT_H
#define RD_NLU_INT_H

#include <stddef.h>
#include "agent/nlu.h"

size_t nlu_fold(const char *text, char *low, char *cased, size_t cap);
int nlu_spoofed(const char *text, size_t cap);
void nlu_scan_entities(const char *low, const char *cased, size_t len, int money_ctx,
		       struct understanding *out);
/* Phrase-pattern lookups that found no compiled pattern since start-up (a
 * string missing from the registry in nlu_phrases.h): 0 in a healthy build. */
unsigned long nlu_uncompiled(void);

#endif
