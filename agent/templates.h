/* templates.h — localized message templates: templates/<locale>/<name>.txt,
 * UTF-8 text with named placeholders "{amount}". Loaded and checked once at
 * start-up: every (locale, name) below must exist, be valid UTF-8 (no NUL,
 * no BOM), non-empty and at most 2048 bytes, and use exactly its declared
 * placeholders (an unknown one is an error, and so is leaving one out: a
 * confirmation without {amount} must not reach a customer); button titles
 * are at most 20 characters. Otherwise start-up fails naming the file. A
 * trailing newline in a file is dropped. "{{" writes a literal "{"; a "{"
 * that does not start "{name}" is an error; "}" alone is text. After load
 * the set is read-only: render from any thread. */
#ifndef RD_TEMPLATES_H
#define RD_TEMPLATES_H

#include <stddef.h>
#include "common/rd.h"

/* X(name, "space-separated placeholders it may use") */
#define TEMPLATE_LIST(X)                                                   \
	X(greeting, "")                                                    \
	X(ask_order, "")                                                   \
	X(ask_email, "order")                                              \
	X(not_found, "")                                                   \
	X(store_unavailable, "")                                           \
	X(confirm_refund, "amount order rail")                             \
	X(confirm_again, "amount order")                                   \
	X(button_yes, "")                                                  \
	X(button_no, "")                                                   \
	X(refunded, "amount order rail refund_id")                         \
	X(refunded_onchain, "amount order tx_hash")                        \
	X(refund_pending, "amount order rail settlement")                  \
	X(refund_failed, "order ticket")                                   \
	X(credit_note, "number amount order link")                         \
	X(denied, "order reason")                                          \
	X(reason_already_refunded, "")                                     \
	X(reason_exceeds_paid, "amount")                                   \
	X(reason_window, "days")                                           \
	X(reason_non_refundable, "")                                       \
	X(escalated, "order ticket")                                       \
	X(human_handoff, "ticket")                                         \
	X(already_escalated, "ticket")                                     \
	X(declined, "")                                                    \
	X(thanks, "")                                                      \
	X(fallback, "")                                                    \
	X(injection, "")                                                   \
	X(status_none, "")                                                 \
	X(status_refunded, "amount order rail settlement note")            \
	X(status_pending, "amount order rail settlement")                  \
	X(settlement_card, "")                                             \
	X(settlement_pix, "")                                              \
	X(settlement_usdc, "")                                             \
	X(settlement_other, "")                                            \
	X(status_escalated, "order ticket")                                \
	X(unsupported_media, "")                                           \
	X(rate_limited, "")                                                \
	X(review_denied, "order")                                          \
	X(review_more_info, "order")                                       \
	X(review_expired, "order")                                         \
	X(credit_note_doc, "number date issuer tax_id address customer order payment rail lines amount reason refund_id seal")

enum template_id {
#define X(name, vars) TPL_##name,
	TEMPLATE_LIST(X)
#undef X
	TPL__COUNT
};

struct templates;

/* Load dir/<locale>/<name>.txt for every locale in locales and every
 * template above. On error returns RD_ECONFIG with a reason naming the
 * file (e.g. "templates/es/refunded.txt: unknown placeholder {amont}") in
 * err. *out is owned by the caller (templates_free). */
enum rd_err templates_load(const char *dir, const char *const *locales, size_t n_locales,
			   struct templates **out, char *err, size_t errlen) RD_WUR;
void templates_free(struct templates *t);

/* The loaded locale that best serves a hint: exact ("pt-BR"), then same
 * language ("pt", "pt-PT" → "pt-BR"; "es-MX" → "es"), case-insensitive,
 * '_' same as '-'; else fallback (which must be loaded). Only the first tag
 * of hint is read ("pt-BR,pt;q=0.9" → "pt-BR"); NULL or "" → fallback.
 * Returns the loaded locale's own name (borrowed, lives as long as t), or
 * fallback itself when it is not loaded either. */
const char *templates_locale(const struct templates *t, const char *hint, const char *fallback);

/* Render template id for a loaded locale. vars is a NULL-terminated list of
 * key, value pairs ("amount", "R$ 186,00", NULL), borrowed; values are
 * inserted verbatim and extra keys are ignored. A placeholder the template
 * uses that vars does not give is RD_EINVAL (never a blank). *out is
 * malloc'd, caller frees (NULL on error). RD_ENOTFOUND for a locale that is
 * not loaded. */
enum rd_err templates_render(const struct templates *t, const char *locale, enum template_id id,
			     const char *const *vars, char **out) RD_WUR;

const char *template_name(enum template_id id);

#endif
