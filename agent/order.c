/* order.c — order documents (order.h): checked against declared field tables
 * (one per object: order, customer, item, payment), relative times resolved
 * and written back as RFC 3339, and the identity check. */
#include "agent/order.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

/* Times an order may hold: after the epoch, before the year 10000. */
#define ORDER_TIME_MIN INT64_C(1)
#define ORDER_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
/* Largest count in an offset ("-999999999d"): keeps the product in range. */
#define ORDER_OFFSET_MAX INT64_C(999999999)
#define PHONE_MIN_DIGITS 8
#define PHONE_MAX_DIGITS 15
/* Bytes of a bad value quoted back in an error ("unknown currency \"XYZ\""). */
#define ORDER_QUOTE_MAX 16

enum ftype {
	FT_TEXT,     /* string into char[size]: trimmed, no control characters */
	FT_ID,       /* string (as FT_TEXT) or integer ≥ 0, stored as text */
	FT_CURRENCY, /* a code money_exponent() knows */
	FT_EMAIL,    /* FT_TEXT that contains '@' when not empty */
	FT_PHONE,    /* FT_TEXT that is E.164 ('+' then 8..15 digits) when not empty */
	FT_MINOR,    /* JSON integer ≥ 0, minor units, into int64_t (never a real) */
	FT_COUNT,    /* JSON integer 0..INT_MAX into int */
	FT_QUANTITY, /* JSON integer 1..INT_MAX into int; 1 when absent */
	FT_SCORE,    /* JSON number (integer or real) 0..1 into double */
	FT_BOOL,     /* true / false into int 0/1 */
	FT_TIME,     /* RFC 3339 or offset string into int64_t seconds */
};

/* One expected key of a JSON object and where its value goes. */
struct field {
	const char *key;
	enum ftype type;
	int required;  /* 1: absent or null is an error (and "" for strings) */
	size_t off;    /* offset of the destination in the base struct */
	size_t size;   /* size of the destination (strings: buffer incl. NUL) */
};

#define FIELD(k, t, req, type, member) \
	{ k, t, req, offsetof(type, member), sizeof(((type *)0)->member) }

static const struct field order_fields[] = {
	FIELD("id", FT_ID, 1, struct order, id),
	FIELD("currency", FT_CURRENCY, 1, struct order, currency),
	FIELD("total", FT_MINOR, 1, struct order, total),
	FIELD("refunded", FT_MINOR, 0, struct order, refunded),
	FIELD("created_at", FT_TIME, 1, struct order, created_at),
	FIELD("delivered_at", FT_TIME, 0, struct order, delivered_at),
	FIELD("delivery_status", FT_TEXT, 0, struct order, delivery_status),
};

static const struct field customer_fields[] = {
	FIELD("name", FT_TEXT, 0, struct order, customer.name),
	FIELD("email", FT_EMAIL, 0, struct order, customer.email),
	FIELD("phone", FT_PHONE, 0, struct order, customer.phone),
	FIELD("risk_score", FT_SCORE, 0, struct order, customer.risk_score),
	FIELD("chargebacks", FT_COUNT, 0, struct order, customer.chargebacks),
};

static const struct field item_fields[] = {
	FIELD("sku", FT_TEXT, 0, struct order_item, sku),
	FIELD("category", FT_TEXT, 0, struct order_item, category),
	FIELD("final_sale", FT_BOOL, 0, struct order_item, final_sale),
	FIELD("price", FT_MINOR, 1, struct order_item, price),
	FIELD("quantity", FT_QUANTITY, 0, struct order_item, quantity),
};

static const struct field payment_fields[] = {
	FIELD("rail", FT_TEXT, 1, struct order, payment.rail),
	FIELD("provider", FT_TEXT, 1, struct order, payment.provider),
	FIELD("id", FT_TEXT, 1, struct order, payment.id),
};

/* What a value of type t should have been, for "key: expected …". */
static const char *expected(enum ftype t)
{
	switch (t) {
	case FT_TEXT:
	case FT_CURRENCY:
	case FT_EMAIL:
	case FT_PHONE: return "expected a string";
	case FT_ID: return "expected a string or an integer";
	case FT_MINOR: return "expected an integer (minor units)";
	case FT_COUNT:
	case FT_QUANTITY: return "expected an integer";
	case FT_SCORE: return "expected a number between 0 and 1";
	case FT_BOOL: return "expected true or false";
	case FT_TIME: return "expected an RFC 3339 time or an offset like \"-2d\"";
	}
	return "unexpected value";
}

/* Write "path: reason" to err; returns RD_EINVAL so callers can return it. */
static enum rd_err fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
	RD_PRINTF(4, 5);
static enum rd_err fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	if (err && errlen) {
		char why[160];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, sizeof why, fmt, ap);
		va_end(ap);
		snprintf(err, errlen, "%s: %s", path, why);
	}
	return RD_EINVAL;
}

/* A bad value made safe to quote in an error: printable ASCII only (others
 * become '?'), no quotes or backslashes, at most ORDER_QUOTE_MAX bytes. */
static void quote_clip(const char *s, size_t len, char *out, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < len && i < ORDER_QUOTE_MAX && j + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[j++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	out[j] = '\0';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The span of s[0..*len) without leading and trailing ASCII white space. */
static const char *trim(const char *s, size_t *len)
{
	while (*len && is_space(*s)) {
		s++;
		(*len)--;
	}
	while (*len && is_space(s[*len - 1]))
		(*len)--;
	return s;
}

/* 1 when s is '+' followed by PHONE_MIN_DIGITS..PHONE_MAX_DIGITS digits. */
static int is_e164(const char *s)
{
	size_t n = 0;
	if (*s++ != '+')
		return 0;
	for (; *s; s++, n++)
		if (*s < '0' || *s > '9')
			return 0;
	return n >= PHONE_MIN_DIGITS && n <= PHONE_MAX_DIGITS;
}

/* Copy the JSON string v, trimmed, into dst[f->size] and check it as f->type
 * (FT_TEXT, FT_ID, FT_EMAIL, FT_PHONE). An empty required value is an error. */
static enum rd_err check_text(const json_t *v, const struct field *f, char *dst,
			      const char *path, char *err, size_t errlen)
{
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (memchr(s, '\0', len))
		return fail(err, errlen, path, "contains a NUL byte");
	s = trim(s, &len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return fail(err, errlen, path, "contains a control character");
	}
	if (len >= f->size)
		return fail(err, errlen, path, "too long (at most %zu bytes)", f->size - 1);
	memcpy(dst, s, len);
	dst[len] = '\0';
	if (f->required && len == 0)
		return fail(err, errlen, path, "must not be empty");
	if (f->type == FT_EMAIL && len && !strchr(dst, '@'))
		return fail(err, errlen, path, "expected an address with '@'");
	if (f->type == FT_PHONE && len && !is_e164(dst))
		return fail(err, errlen, path, "expected E.164 like \"+5511987654321\"");
	return RD_OK;
}

enum rd_err order_parse_offset(const char *s, int64_t *secs)
{
	int64_t sign = 1, n = 0, unit;
	int nd = 0;
	if (!s)
		return RD_EINVAL;
	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		n = n * 10 + (*s - '0');
		if (n > ORDER_OFFSET_MAX)
			return RD_EINVAL;
	}
	if (nd == 0)
		return RD_EINVAL;
	switch (*s) {
	case 'd': unit = 86400; break;
	case 'h': unit = 3600; break;
	case 'm': unit = 60; break;
	case 's': unit = 1; break;
	default: return RD_EINVAL;
	}
	if (s[1] != '\0')
		return RD_EINVAL;
	*secs = sign * n * unit;
	return RD_OK;
}

/* FT_TIME: an offset is resolved against now and written back into obj[key]
 * as RFC 3339; that releases obj's old value, so v dangles afterwards. */
static enum rd_err check_time(json_t *obj, const char *key, const json_t *v, int64_t now,
			      int64_t *dst, const char *path, char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	int64_t t, off;
	if (strlen(s) != json_string_length(v))
		return fail(err, errlen, path, "%s", expected(FT_TIME));
	if (order_parse_offset(s, &off) == RD_OK) {
		char buf[32];
		if (__builtin_add_overflow(now, off, &t) || t < ORDER_TIME_MIN || t > ORDER_TIME_MAX)
			return fail(err, errlen, path, "out of range");
		rfc3339_format(t, buf, sizeof buf);
		if (json_object_set_new(obj, key, json_string(buf)) != 0)
			return RD_ENOMEM;
	} else if (rfc3339_parse(s, &t) != RD_OK) {
		return fail(err, errlen, path, "%s", expected(FT_TIME));
	} else if (t < ORDER_TIME_MIN || t > ORDER_TIME_MAX) {
		return fail(err, errlen, path, "out of range");
	}
	*dst = t;
	return RD_OK;
}

/* Check obj[f->key] against f and store it at base + f->off. prefix is the
 * path of obj ("", "customer.", "items[2].") for error messages. */
static enum rd_err check_field(json_t *obj, const struct field *f, const char *prefix,
			       char *base, int64_t now, char *err, size_t errlen)
{
	char path[64];
	char *dst = base + f->off;
	json_t *v = json_object_get(obj, f->key);
	snprintf(path, sizeof path, "%s%s", prefix, f->key);

	if (!v || json_is_null(v)) {
		if (f->required)
			return v ? fail(err, errlen, path, "%s", expected(f->type))
				 : fail(err, errlen, path, "required");
		if (f->type == FT_QUANTITY)
			*(int *)(void *)dst = 1;
		return RD_OK; /* base was zeroed: "" / 0 */
	}

	switch (f->type) {
	case FT_ID:
		if (json_is_integer(v)) {
			json_int_t id = json_integer_value(v);
			if (id < 0)
				return fail(err, errlen, path, "must not be negative");
			snprintf(dst, f->size, "%" JSON_INTEGER_FORMAT, id);
			return RD_OK;
		}
		if (!json_is_string(v))
			return fail(err, errlen, path, "%s", expected(f->type));
		return check_text(v, f, dst, path, err, errlen);
	case FT_TEXT:
	case FT_EMAIL:
	case FT_PHONE:
		if (!json_is_string(v))
			return fail(err, errlen, path, "%s", expected(f->type));
		return check_text(v, f, dst, path, err, errlen);
	case FT_CURRENCY: {
		const char *s;
		size_t len;
		if (!json_is_string(v))
			return fail(err, errlen, path, "%s", expected(f->type));
		s = json_string_value(v);
		len = json_string_length(v);
		if (len >= f->size || strlen(s) != len || money_exponent(s) < 0) {
			char q[ORDER_QUOTE_MAX + 1];
			quote_clip(s, len, q, sizeof q);
			return fail(err, errlen, path, "unknown currency \"%s\"", q);
		}
		memcpy(dst, s, len + 1);
		return RD_OK;
	}
	case FT_MINOR:
		if (!json_is_integer(v))
			return fail(err, errlen, path, "%s", expected(f->type));
		if (json_integer_value(v) < 0)
			return fail(err, errlen, path, "must not be negative");
		*(int64_t *)(void *)dst = json_integer_value(v);
		return RD_OK;
	case FT_COUNT:
	case FT_QUANTITY: {
		json_int_t lo = f->type == FT_QUANTITY ? 1 : 0;
		if (!json_is_integer(v))
			return fail(err, errlen, path, "%s", expected(f->type));
		if (json_integer_value(v) < lo || json_integer_value(v) > INT_MAX)
			return fail(err, errlen, path, "must be between %d and %d", (int)lo, INT_MAX);
		*(int *)(void *)dst = (int)json_integer_value(v);
		return RD_OK;
	}
	case FT_SCORE:
		if (!json_is_number(v) || !(json_number_value(v) >= 0.0 && json_number_value(v) <= 1.0))
			return fail(err, errlen, path, "%s", expected(f->type));
		*(double *)(void *)dst = json_number_value(v);
		return RD_OK;
	case FT_BOOL:
		if (!json_is_boolean(v))
			return fail(err, errlen, path, "%s", expected(f->type));
		*(int *)(void *)dst = json_is_true(v);
		return RD_OK;
	case FT_TIME:
		if (!json_is_string(v))
			return fail(err, errlen, path, "%s", expected(f->type));
		return check_time(obj, f->key, v, now, (int64_t *)(void *)dst, path, err, errlen);
	}
	return fail(err, errlen, path, "unexpected field type");
}

/* Check every field of a table, in order; stops at the first error. */
static enum rd_err check_fields(json_t *obj, const struct field *fields, size_t n,
				const char *prefix, void *base, int64_t now,
				char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		enum rd_err e = check_field(obj, &fields[i], prefix, base, now, err, errlen);
		if (e != RD_OK)
			return e;
	}
	return RD_OK;
}

/* doc[key] when it is an object (an array when want_array), else an error. */
static enum rd_err get_container(json_t *doc, const char *key, int want_array, json_t **out,
				 char *err, size_t errlen)
{
	json_t *v = json_object_get(doc, key);
	if (!v)
		return fail(err, errlen, key, "required");
	if (want_array ? !json_is_array(v) : !json_is_object(v))
		return fail(err, errlen, key, want_array ? "expected an array" : "expected an object");
	*out = v;
	return RD_OK;
}

static enum rd_err order_fill(json_t *doc, int64_t now, struct order *out, char *err,
			      size_t errlen)
{
	json_t *customer = NULL, *items = NULL, *payment = NULL;
	enum rd_err e;

	if (!json_is_object(doc))
		return fail(err, errlen, "order", "expected a JSON object");
	if ((e = check_fields(doc, order_fields, RD_ARRAY_LEN(order_fields), "", out, now,
			      err, errlen)) != RD_OK)
		return e;
	if (out->refunded > out->total)
		return fail(err, errlen, "refunded", "must be between 0 and total");

	if ((e = get_container(doc, "customer", 0, &customer, err, errlen)) != RD_OK ||
	    (e = check_fields(customer, customer_fields, RD_ARRAY_LEN(customer_fields),
			      "customer.", out, now, err, errlen)) != RD_OK)
		return e;

	if ((e = get_container(doc, "items", 1, &items, err, errlen)) != RD_OK)
		return e;
	if (json_array_size(items) > ORDER_MAX_ITEMS)
		return fail(err, errlen, "items", "at most %d items", ORDER_MAX_ITEMS);
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);
		char prefix[32];
		if (!json_is_object(it)) {
			snprintf(prefix, sizeof prefix, "items[%zu]", i);
			return fail(err, errlen, prefix, "expected an object");
		}
		snprintf(prefix, sizeof prefix, "items[%zu].", i);
		if ((e = check_fields(it, item_fields, RD_ARRAY_LEN(item_fields), prefix,
				      &out->items[i], now, err, errlen)) != RD_OK)
			return e;
		out->n_items = i + 1;
	}

	if ((e = get_container(doc, "payment", 0, &payment, err, errlen)) != RD_OK)
		return e;
	return check_fields(payment, payment_fields, RD_ARRAY_LEN(payment_fields), "payment.",
			    out, now, err, errlen);
}

enum rd_err order_from_json(json_t *doc, int64_t now, struct order *out, char *err,
			    size_t errlen)
{
	enum rd_err e;
	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = '\0';
	e = order_fill(doc, now, out, err, errlen);
	if (e == RD_ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	if (e != RD_OK)
		memset(out, 0, sizeof *out);
	return e;
}

enum rd_err order_parse_line(const char *line, size_t len, int64_t now, struct order *out,
			     json_t **doc_out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc;
	enum rd_err e;

	if (doc_out)
		*doc_out = NULL;
	doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		/* jansson quotes the offending token ("near '…'"), which may be
		 * personal data: keep only the reason and the column. */
		char *near = strstr(jerr.text, " near ");
		if (near)
			*near = '\0';
		memset(out, 0, sizeof *out);
		if (err && errlen)
			snprintf(err, errlen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
		return RD_EPROTO;
	}
	e = order_from_json(doc, now, out, err, errlen);
	if (e != RD_OK || !doc_out)
		json_decref(doc);
	else
		*doc_out = doc;
	return e;
}

/* Trimmed, case-insensitive equality of two addresses; empty never matches. */
static int email_matches(const char *known, const char *given)
{
	size_t kl, gl;
	if (!known || !given)
		return 0;
	kl = strlen(known);
	gl = strlen(given);
	known = trim(known, &kl);
	given = trim(given, &gl);
	return kl > 0 && kl == gl && strncasecmp(known, given, kl) == 0;
}

/* The digits of a phone number written with '+', spaces, '-', '.', '(' or
 * ')' into out[PHONE_MAX_DIGITS + 1]; -1 for any other character or more
 * than PHONE_MAX_DIGITS digits. */
static int phone_digits(const char *s, char *out)
{
	int n = 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			if (n == PHONE_MAX_DIGITS)
				return -1;
			out[n++] = *s;
		} else if (!strchr("+-.() \t", *s)) {
			return -1;
		}
	}
	out[n] = '\0';
	return n;
}

/* Same digits, at least PHONE_MIN_DIGITS of them; NULL or "" never match. */
static int phone_matches(const char *known, const char *given)
{
	char a[PHONE_MAX_DIGITS + 1], b[PHONE_MAX_DIGITS + 1];
	int na, nb;
	if (!known || !given)
		return 0;
	na = phone_digits(known, a);
	nb = phone_digits(given, b);
	return na >= PHONE_MIN_DIGITS && na == nb && memcmp(a, b, (size_t)na) == 0;
}

int order_identity_matches(const struct order *o, const char *email, const char *phone)
{
	return email_matches(o->customer.email, email) || phone_matches(o->customer.phone, phone);
}

int64_t order_remaining(const struct order *o)
{
	return o->refunded >= o->total ? 0 : o->total - o->refunded;
}
