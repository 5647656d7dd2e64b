/* webhooks_rails.h — what rails tell us over HTTP: POST /webhooks/stripe
 * (Stripe, "Webhooks" and "Verify webhook signatures"). A refund that turns
 * succeeded or failed becomes a rail_update message on the customer's
 * conversation (agent.h, agent_rail_update), deduped on (refund, status). */
#ifndef RD_WEBHOOKS_RAILS_H
#define RD_WEBHOOKS_RAILS_H

#include <stddef.h>
#include <stdint.h>
#include "common/model.h"
#include "gateway/http.h"

#define STRIPE_TOLERANCE_S 300 /* Stripe's default tolerance: five minutes */

/* Stripe-Signature: "t=<unix>,v1=<hex>[,v1=…][,v0=…]": 1 when a v1 is
 * HMAC-SHA256(secret, "<t>.<raw body>") and t is within five minutes of now.
 * Constant-time. */
int stripe_signature_ok(const char *secret, const char *header, const char *body, size_t len,
			int64_t now);

/* A Stripe event body (raw bytes, signature already checked): refund.created
 * / refund.updated / refund.failed (data.object a refund) and
 * charge.refunded (data.object.refunds.data[]). Each refund of ours
 * (metadata refund_id and conversation_id) that reached succeeded, failed
 * or canceled → one rail_update message in msgs[*n] (up to max; the caller
 * owns each: message_free). Other events give *n == 0. RD_EPROTO when body
 * is not a JSON object. */
enum rd_err stripe_parse_event(const char *body, size_t len, struct message *msgs, size_t max,
			       size_t *n) RD_WUR;

/* The routes, when the Stripe rail is enabled with a webhook secret. */
size_t routes_rail_webhooks(struct http_route *out, size_t max);

#endif
