/* test_llm.c — the pure parts of agent/llm*.c: the report_understanding
 * schema (what is accepted, what is invalid, what is an attempt to move
 * money), card-number redaction, "did the customer write that", the merge
 * with the built-in understanding, the phrasing guard and slot filling, and
 * the client's configuration checks. The wire formats and the timeouts are
 * tested end to end (tests/integration/test_llm.py). Ends with one line
 * "N passed, N failed". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/llm.h"

static json_t *args(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (!o)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return o;
}

static enum llm_outcome parse(const char *tool, const char *text, struct llm_result *r)
{
	json_t *a = args(text);
	memset(r, 0, sizeof *r);
	enum llm_outcome oc = llm_parse_understanding(tool, a, r);
	json_decref(a);
	return oc;
}

/* ---- schema ------------------------------------------------------------ */

static void test_schema_shape(void **state)
{
	(void)state;
	json_t *s = llm_schema();
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
	assert_true(json_is_false(json_object_get(s, "additionalProperties")));
	json_t *p = json_object_get(s, "properties");
	static const char *const keys[] = { "intent", "language", "order_id", "email", "amount",
					    "currency", "reason", "chargeback_threat", "injection",
					    "summary", "next_action" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		assert_non_null(json_object_get(p, keys[i]));
	assert_int_equal(json_object_size(p), sizeof keys / sizeof keys[0]);
	json_t *intents = json_object_get(json_object_get(p, "intent"), "enum");
	assert_int_equal(json_array_size(intents), 8);
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "chargeback_threat"),
							       "type")), "boolean");
	json_decref(s);
}

static void test_parse_full(void **state)
{
	(void)state;
	struct llm_result r;
	assert_int_equal(parse(LLM_TOOL,
		"{\"intent\":\"refund_request\",\"language\":\"pt\",\"order_id\":\"8421\","
		"\"email\":\"Marina@Example.com\",\"amount\":\"186.00\",\"currency\":\"BRL\","
		"\"reason\":\"damaged\",\"chargeback_threat\":true,\"injection\":false,"
		"\"summary\":\"Mug arrived broken; card 4111 1111 1111 1111.\","
		"\"next_action\":\"Approve if photos match.\"}", &r), LLM_OK);
	assert_int_equal(r.u.intent, INTENT_REFUND);
	assert_string_equal(r.u.lang, "pt");
	assert_string_equal(r.u.order_id, "8421");
	assert_string_equal(r.u.email, "marina@example.com");
	assert_int_equal(r.u.has_amount, 1);
	assert_int_equal(r.u.amount.minor, 18600);
	assert_string_equal(r.u.amount.cur, "BRL");
	assert_int_equal(r.u.reason, REASON_DAMAGED);
	assert_int_equal(r.u.chargeback_threat, 1);
	assert_int_equal(r.u.injection, 0);
	assert_string_equal(r.summary, "Mug arrived broken; card [redacted].");
	assert_string_equal(r.next_action, "Approve if photos match.");
}

static void test_parse_minimal(void **state)
{
	(void)state;
	struct llm_result r;
	/* only intent and language are required; empty strings are "none" */
	assert_int_equal(parse(LLM_TOOL, "{\"intent\":\"yes\",\"language\":\"\"}", &r), LLM_OK);
	assert_int_equal(r.u.intent, INTENT_YES);
	assert_string_equal(r.u.lang, "");
	assert_int_equal(r.u.has_amount, 0);
	/* an amount without a currency: 2 decimals, currency left empty */
	assert_int_equal(parse(LLM_TOOL, "{\"intent\":\"refund_request\",\"language\":\"en\","
				"\"amount\":\"49.9\",\"currency\":\"\"}", &r), LLM_OK);
	assert_int_equal(r.u.amount.minor, 4990);
	assert_string_equal(r.u.amount.cur, "");
	assert_int_equal(parse(LLM_TOOL, "{\"intent\":\"other\",\"language\":\"es\","
				"\"amount\":\"500\",\"currency\":\"JPY\"}", &r), LLM_OK);
	assert_int_equal(r.u.amount.minor, 500);
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"language\":\"en\"}",                                       /* intent missing */
		"{\"intent\":\"refund_request\"}",                             /* language missing */
		"{\"intent\":\"refund\",\"language\":\"en\"}",                 /* not an intent */
		"{\"intent\":\"other\",\"language\":\"fr\"}",                  /* not a language */
		"{\"intent\":1,\"language\":\"en\"}",                          /* wrong type */
		"{\"intent\":\"other\",\"language\":\"en\",\"injection\":\"no\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"order_id\":8421}",
		"{\"intent\":\"other\",\"language\":\"en\",\"order_id\":\"84 21\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"order_id\":\"1234567890123456789012345678901234567890123456789012345678901234\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"email\":\"not an email\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"amount\":\"-5\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"amount\":\"1e9\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"amount\":\"0\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"amount\":\"12.345\",\"currency\":\"USD\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"amount\":\"1000000000000\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"amount\":49.9}",
		"{\"intent\":\"other\",\"language\":\"en\",\"currency\":\"XYZ\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"reason\":\"because\"}",
		"{\"intent\":\"other\",\"language\":\"en\",\"mood\":\"angry\"}",   /* unknown key */
		"{\"intent\":\"other\",\"language\":\"en\",\"summary\":\"a\\u0001b\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct llm_result r;
		enum llm_outcome oc = parse(LLM_TOOL, bad[i], &r);
		if (oc != LLM_INVALID)
			fail_msg("%s: want invalid, got %s", bad[i], llm_outcome_name(oc));
		assert_true(r.attempt[0] != '\0');
	}
	/* too long */
	char big[1200];
	int n = snprintf(big, sizeof big, "{\"intent\":\"other\",\"language\":\"en\",\"summary\":\"");
	memset(big + n, 'x', LLM_SUMMARY_MAX + 1);
	snprintf(big + n + LLM_SUMMARY_MAX + 1, sizeof big - (size_t)n - LLM_SUMMARY_MAX - 1, "\"}");
	struct llm_result r;
	assert_int_equal(parse(LLM_TOOL, big, &r), LLM_INVALID);
	/* not an object */
	memset(&r, 0, sizeof r);
	json_t *arr = json_array();
	assert_int_equal(llm_parse_understanding(LLM_TOOL, arr, &r), LLM_INVALID);
	assert_int_equal(llm_parse_understanding(LLM_TOOL, NULL, &r), LLM_INVALID);
	json_decref(arr);
}

static void test_parse_attempts(void **state)
{
	(void)state;
	struct llm_result r;
	/* another tool is an attempt to act, whatever its arguments */
	assert_int_equal(parse("refund_order", "{\"order_id\":\"9999\",\"amount\":500}", &r),
			 LLM_ATTEMPT);
	assert_non_null(strstr(r.attempt, "refund_order"));
	assert_int_equal(parse("", "{}", &r), LLM_ATTEMPT);
	static const char *const pay[] = {
		"{\"intent\":\"refund_request\",\"language\":\"en\",\"destination\":\"acct 12345\"}",
		"{\"intent\":\"refund_request\",\"language\":\"en\",\"refund_amount\":\"500.00\"}",
		"{\"intent\":\"refund_request\",\"language\":\"en\",\"IBAN\":\"DE89370400440532013000\"}",
		"{\"intent\":\"refund_request\",\"language\":\"en\",\"pix_key\":\"+5511999999999\"}",
		"{\"intent\":\"refund_request\",\"language\":\"en\",\"approve\":true}",
		"{\"intent\":\"refund_request\",\"language\":\"en\",\"wallet\":\"0xabc\"}",
	};
	for (size_t i = 0; i < sizeof pay / sizeof pay[0]; i++) {
		enum llm_outcome oc = parse(LLM_TOOL, pay[i], &r);
		if (oc != LLM_ATTEMPT)
			fail_msg("%s: want attempt, got %s", pay[i], llm_outcome_name(oc));
		assert_non_null(strstr(r.attempt, "field"));
	}
}

/* ---- redaction and mentions --------------------------------------------- */

static void test_redact(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } cases[] = {
		{ "card 4111 1111 1111 1111 please", "card [redacted] please" },
		{ "4111-1111-1111-1111", "[redacted]" },
		{ "4111111111111111", "[redacted]" },
		{ "amex 3782 822463 10005.", "amex [redacted]." },
		{ "order 8421 and 555 123 4567", "order 8421 and 555 123 4567" },
		{ "R$ 186,00 pedido 123456789012", "R$ 186,00 pedido 123456789012" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *r = llm_redact(cases[i].in);
		assert_non_null(r);
		assert_string_equal(r, cases[i].out);
		free(r);
	}
	char *r = llm_redact(NULL);
	assert_string_equal(r, "");
	free(r);
}

static void test_mentions(void **state)
{
	(void)state;
	assert_true(llm_mentions("refund order #8421 please", "8421"));
	assert_true(llm_mentions("pedido ORD-2024-001", "ord-2024-001"));
	assert_true(llm_mentions("my email: Alex@Example.com.", "alex@example.com"));
	assert_false(llm_mentions("refund order 84210", "8421"));
	assert_false(llm_mentions("refund order 18421", "8421"));
	assert_false(llm_mentions("refund order 9999", "8421"));
	assert_false(llm_mentions("anything", ""));
	assert_false(llm_mentions(NULL, "8421"));
}

/* ---- merge -------------------------------------------------------------- */

static void test_merge(void **state)
{
	(void)state;
	struct understanding b, out;
	struct llm_result r;
	memset(&b, 0, sizeof b);
	memset(&r, 0, sizeof r);
	/* the built-in read an order id and an amount, the model a reason */
	b.intent = INTENT_OTHER;
	snprintf(b.lang, sizeof b.lang, "pt");
	snprintf(b.order_id, sizeof b.order_id, "8421");
	b.has_amount = 1;
	b.amount.minor = 5000;
	snprintf(b.amount.cur, sizeof b.amount.cur, "BRL");
	b.injection = 1;
	r.u.intent = INTENT_REFUND;
	r.u.reason = REASON_DAMAGED;
	llm_merge(&b, &r, &out);
	assert_int_equal(out.intent, INTENT_REFUND);
	assert_string_equal(out.lang, "pt");
	assert_string_equal(out.order_id, "8421");
	assert_int_equal(out.amount.minor, 5000);
	assert_int_equal(out.reason, REASON_DAMAGED);
	assert_int_equal(out.injection, 1);         /* a flag from either side stands */
	/* the model's entities win where it gave them */
	snprintf(r.u.order_id, sizeof r.u.order_id, "8422");
	r.u.chargeback_threat = 1;
	llm_merge(&b, &r, &out);
	assert_string_equal(out.order_id, "8422");
	assert_int_equal(out.chargeback_threat, 1);
	/* "missing" needs evidence by policy: the model cannot talk it away */
	b.reason = REASON_MISSING;
	llm_merge(&b, &r, &out);
	assert_int_equal(out.reason, REASON_MISSING);
	/* a yes is the customer's: only when the built-in layer heard one */
	r.u.intent = INTENT_YES;
	b.intent = INTENT_OTHER;
	llm_merge(&b, &r, &out);
	assert_int_equal(out.intent, INTENT_OTHER);
	b.intent = INTENT_YES;
	llm_merge(&b, &r, &out);
	assert_int_equal(out.intent, INTENT_YES);
	/* a no from the model stands (it moves nothing) */
	r.u.intent = INTENT_NO;
	llm_merge(&b, &r, &out);
	assert_int_equal(out.intent, INTENT_NO);
}

static void test_suggestion(void **state)
{
	(void)state;
	char buf[200];
	assert_string_equal(llm_suggestion("Review the request.", "", "", buf, sizeof buf),
			    "Review the request.");
	assert_string_equal(llm_suggestion("Review.", "Mug broke.", "Approve.", buf, sizeof buf),
			    "Review. | Model summary (unverified): Mug broke. Suggested: Approve.");
	assert_string_equal(llm_suggestion("Review.", "Mug broke.", NULL, buf, sizeof buf),
			    "Review. | Model summary (unverified): Mug broke.");
	llm_suggestion("Review.", "a very long summary that does not fit", "x", buf, 20);
	assert_int_equal(strlen(buf), 19);
}

/* ---- the phrasing guard ----------------------------------------------------- */

#define CONFIRM "I can refund {amount} for order {order} to your original payment method ({rail}). " \
		"Shall I go ahead?"

static void test_phrase_ok(void **state)
{
	(void)state;
	char why[120];
	assert_true(llm_phrase_ok(CONFIRM, "Sorry about the mug! I can send {amount} back for order "
				  "{order} to your {rail}. Want me to go ahead?", why, sizeof why));
	assert_true(llm_phrase_ok("Hello! How can I help?", "Hi there, how can I help you today?", NULL, 0));
	assert_true(llm_phrase_ok("Ticket {ticket}: a person will answer within 1 day.",
				  "A colleague will reply within 1 day (ticket {ticket}).", NULL, 0));
	static const struct { const char *phrased, *why; } bad[] = {
		/* the amount is the slot's, never the model's */
		{ "I can refund R$ 500,00 for order {order} to your {rail}. Go ahead?", "amount" },
		{ "I can refund {amount} plus 500 for order {order} to your {rail}. Ok?", "number" },
		{ "I can refund $ {amount} for order {order} to your {rail}. Ok?", "$" },
		{ "I can refund {amount} USD for order {order} to your {rail}. Ok?", "currency" },
		{ "I can refund {amount} for order 9999 to your {rail}. Ok?", "order" },
		{ "I can refund {amount} for order {order} to your {rail}, {amount}. Ok?", "repeated" },
		{ "I can refund {amount} for order {order} to your {rail} at {link}. Ok?", "new slot" },
		{ "I can refund {amount} for order {order} to your {rail}. See https://evil.example",
		  "link" },
		{ "I can refund {amount} for order {order} to your {rail}. Mail me: a@b.co", "email" },
		{ "I can refund {amount} for order {order} to {{rail}}.", "brace" },
		{ "", "empty" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (llm_phrase_ok(CONFIRM, bad[i].phrased, why, sizeof why))
			fail_msg("accepted (%s): %s", bad[i].why, bad[i].phrased);
	/* far longer than the template */
	char big[1200];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_false(llm_phrase_ok("Hi {order}", big, why, sizeof why));
}

static void test_fill_slots(void **state)
{
	(void)state;
	const char *text = "I can refund R$ 186,00 for order 8421 to your original payment method (Pix). "
			   "Shall I go ahead?";
	char *out = llm_fill_slots(CONFIRM, text, "Sorry! {amount} back for {order} via {rail}?");
	assert_non_null(out);
	assert_string_equal(out, "Sorry! R$ 186,00 back for 8421 via Pix?");
	free(out);
	/* a slot twice keeps one value; values with the literal's own text */
	out = llm_fill_slots("{a} and {a}; {b}.", "x.y and x.y; q; r.", "{b} then {a}");
	assert_non_null(out);
	assert_string_equal(out, "q; r then x.y");
	free(out);
	/* the text is not that template rendered */
	assert_null(llm_fill_slots(CONFIRM, "Something else entirely", "{amount} {order} {rail}"));
	/* a slot the skeleton does not have */
	assert_null(llm_fill_slots("Hi {order}", "Hi 8421", "Hi {order} {amount}"));
}

/* ---- client configuration ------------------------------------------------- */

static void test_new(void **state)
{
	(void)state;
	char err[200];
	struct llm *l = NULL;
	struct llm_config c = { .provider = "openai", .model = "m", .timeout_ms = 1000,
				.max_tokens = 100 };
	assert_int_equal(llm_new(&c, &l, err, sizeof err), RD_OK);
	assert_false(llm_phrasing(l));
	llm_free(l);
	c.provider = "anthropic";
	c.phrase_replies = 1;
	assert_int_equal(llm_new(&c, &l, err, sizeof err), RD_OK);
	assert_true(llm_phrasing(l));
	llm_free(l);
	c.provider = "cohere";
	assert_int_equal(llm_new(&c, &l, err, sizeof err), RD_ECONFIG);
	assert_non_null(strstr(err, "provider"));
	c.provider = "openai";
	c.model = "";
	assert_int_equal(llm_new(&c, &l, err, sizeof err), RD_ECONFIG);
	assert_non_null(strstr(err, "model"));
	assert_null(l);
	llm_free(NULL);
	assert_string_equal(llm_outcome_name(LLM_TIMEOUT), "timeout");
	assert_string_equal(llm_outcome_name(LLM_UNAVAILABLE), "error");
	assert_string_equal(llm_outcome_name((enum llm_outcome)99), "error");
}

/* A dead model: nothing listens, the call fails fast as "error", bounded. */
static void test_dead_model(void **state)
{
	(void)state;
	char err[200];
	struct llm *l = NULL;
	struct llm_config c = { .provider = "openai", .base_url = "http://127.0.0.1:9", .model = "m",
				.timeout_ms = 500, .max_tokens = 100 };
	assert_int_equal(llm_new(&c, &l, err, sizeof err), RD_OK);
	struct llm_input in = { .text = "my card is 4111 1111 1111 1111" };
	struct llm_result r;
	enum llm_outcome oc = llm_understand(l, &in, &r);
	assert_true(oc == LLM_UNAVAILABLE || oc == LLM_TIMEOUT);
	assert_true(r.latency_ms < 2000);
	assert_int_equal(r.u.intent, INTENT_OTHER);
	llm_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_shape),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_attempts),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_mentions),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_suggestion),
		cmocka_unit_test(test_phrase_ok),
		cmocka_unit_test(test_fill_slots),
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_dead_model),
	};
	size_t n = sizeof tests / sizeof tests[0];
	int failed = cmocka_run_group_tests_name("llm", tests, NULL, NULL);
	printf("%zu passed, %d failed\n", n - (size_t)failed, failed);
	return failed != 0;
}
