/* creditnotes.h — GET /v1/credit-notes/{number}?exp=…&sig=…: the credit note
 * as a document, HTML (localized, printable) or JSON with
 * "Accept: application/json". The link is signed and expires
 * (creditnote_link in agent/creditnote.h): a bad or old signature is 403,
 * an unknown number 404, so numbers cannot be enumerated. */
#ifndef RD_CREDITNOTES_H
#define RD_CREDITNOTES_H

#include <stddef.h>
#include "gateway/http.h"

size_t routes_credit_notes(struct http_route *out, size_t max);

#endif
