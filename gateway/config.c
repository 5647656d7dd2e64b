/* config.c — config.ini through one table (entries[] below), like Redis'
 * static_configs[]: every key has a section, a name, a type, the field it
 * fills, its default text and a one-line doc. Defaults are parsed from that
 * text by the same code as the file, so a default can never disagree with its
 * parser.
 *
 * inih (Debian libinih 55) is driven with our own line reader so that:
 *  - every handler call knows its line number ("config.ini:12: …");
 *  - a line longer than inih's buffer is an error: inih itself would cut it
 *    and parse the rest as a line of its own, off by one in every later line;
 *  - an indented line, which inih reads as the continuation of the key above
 *    (multi-line values), is reported as such rather than as "set twice".
 * inih still treats " ;" as the start of a comment, inside values too: the
 * shipped config.ini says so, and secrets are best given as REDRESS_* env. */
#include "gateway/config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>



/* ---- parsers: 0, or -1 with the reason in why ---------------------------- */

#define WHY(...) (snprintf(why, n, __VA_ARGS__), -1)

/* "-?[0-9]+" fitting a long long; 0 on success. */
static int parse_integer(const char *v, long long *out)
{
	const char *p = v + (*v == '-');
	if (!*p || strspn(p, "0123456789") != strlen(p))
		return -1;
	errno = 0;
	*out = strtoll(v, NULL, 10);
	return errno ? -1 : 0;
}

static void size_text(long long b, char *buf, size_t n)
{
	if (b >= 1024 * MiB && b % (1024 * MiB) == 0)
		snprintf(buf, n, "%lldGiB", b / (1024 * MiB));
	else if (b >= MiB && b % MiB == 0)
		snprintf(buf, n, "%lldMiB", b / MiB);
	else if (b >= 1024 && b % 1024 == 0)
		snprintf(buf, n, "%lldKiB", b / 1024);
	else
		snprintf(buf, n, "%lld", b);
}

static int parse_size(const struct centry *e, const char *v, size_t *out, char *why, size_t n)
{
	static const struct { const char *unit; long long mult; } units[] = {
		{ "", 1 }, { "B", 1 }, { "KiB", 1024 }, { "MiB", MiB }, { "GiB", 1024 * MiB },
	};
	char lo[32], hi[32];
	size_t nd = strspn(v, "0123456789");
	const char *u = v + nd;
	while (*u == ' ')
		u++;
	for (size_t i = 0; nd > 0 && nd <= 12 && i < RD_ARRAY_LEN(units); i++) {
		if (strcasecmp(u, units[i].unit) != 0)
			continue;
		long long b = strtoll(v, NULL, 10) * units[i].mult; /* ≤ 12 digits: no overflow */
		if (b < e->min || b > e->max)
			break;
		*out = (size_t)b;
		return 0;
	}
	size_text(e->min, lo, sizeof lo);
	size_text(e->max, hi, sizeof hi);
	return WHY("expected a size from %s to %s like 3145728, 4KiB or 3MiB, got \"%.80s\"",
		   lo, hi, v);
}

static int parse_bool(const char *v, int *out, char *why, size_t n)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < RD_ARRAY_LEN(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return WHY("expected true or false (or yes/no, on/off, 1/0), got \"%.80s\"", v);
}

/* host:port with host an IPv4 address, [IPv6] or localhost, port 1..65535. */
static int parse_listen(const char *v, char *why, size_t n)
{
	char host[64];
	const char *port;
	size_t hl;
	int ok;
	if (v[0] == '[') {
		const char *rb = strchr(v, ']');
		if (!rb || rb[1] != ':' || (hl = (size_t)(rb - v - 1)) >= sizeof host)
			goto bad;
		memcpy(host, v + 1, hl);
		host[hl] = '\0';
		struct in6_addr a6;
		ok = inet_pton(AF_INET6, host, &a6) == 1;
		port = rb + 2;
	} else {
		const char *colon = strrchr(v, ':');
		if (!colon || (hl = (size_t)(colon - v)) >= sizeof host)
			goto bad;
		memcpy(host, v, hl);
		host[hl] = '\0';
		if (strchr(host, ':'))
			return WHY("an IPv6 address needs brackets like [::1]:8080, got \"%.80s\"", v);
		struct in_addr a4;
		ok = strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, &a4) == 1;
		port = colon + 1;
	}
	if (!ok)
		return WHY("expected an IPv4 address, [IPv6] address or localhost before the port, "
			   "got \"%.80s\"", v);
	long long p;
	if (*port == '-' || strlen(port) > 5 || parse_integer(port, &p) || p < 1 || p > 65535)
		return WHY("expected a port from 1 to 65535, got \"%.80s\"", v);
	return 0;
bad:
	return WHY("expected host:port like 127.0.0.1:8080 or [::1]:8080, got \"%.80s\"", v);
}

static int parse_money(const struct centry *e, const char *v, struct money_list *out,
		       char *why, size_t n)
{
	struct money_list l;
	const char *bad = v, *start, *end;
	char eg[32];
	memset(&l, 0, sizeof l);
	if (money_list_parse(v, &l, &bad) == RD_OK) {
		/* money_parse leaves stack bytes after the code's NUL: clear them so
		 * two equal configs are equal byte for byte */
		for (size_t i = 0; i < l.n; i++) {
			size_t cl = strnlen(l.v[i].cur, sizeof l.v[i].cur);
			memset(l.v[i].cur + cl, 0, sizeof l.v[i].cur - cl);
		}
		*out = l;
		return 0;
	}
	/* the bad item, trimmed; "EUR 7,0" (a decimal comma) fails on "0": show
	 * the item before it too, as the person wrote it */
	start = bad;
	while (isspace((unsigned char)*start))
		start++;
	end = start + strcspn(start, ",");
	if (isdigit((unsigned char)*start) && bad > v) {
		const char *p = bad - 1; /* the comma before the bad item */
		while (p > v && p[-1] != ',')
			p--;
		start = p;
		while (isspace((unsigned char)*start))
			start++;
	}
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	struct money m;
	char item[64];
	snprintf(item, sizeof item, "%.*s", (int)(end - start), start);
	if (l.n == MONEY_LIST_MAX)
		return WHY("too many amounts (at most %d)", MONEY_LIST_MAX);
	if (money_parse(item, &m) == RD_OK && money_list_get(&l, m.cur))
		return WHY("%s is given twice", m.cur);
	/* the example is the first amount of the key's default */
	snprintf(eg, sizeof eg, "%.*s", (int)strcspn(e->def, ","), e->def);
	return WHY("expected amounts like %s, got \"%.*s\"", eg,
		   end - start > 80 ? 80 : (int)(end - start), start);
}

static int parse_list(const struct centry *e, const char *v, void *field, size_t *count,
		      char *why, size_t n)
{
	char items[CONFIG_MAX_LIST][64];
	size_t k = 0, cap = e->max_items < CONFIG_MAX_LIST ? e->max_items : CONFIG_MAX_LIST;
	size_t room = e->size < sizeof items[0] ? e->size : sizeof items[0];
	const char *p = v, *why_item;
	while (isspace((unsigned char)*p))
		p++;
	while (*p) {
		const char *end = p + strcspn(p, ",");
		const char *b = p, *t = end;
		while (isspace((unsigned char)*b))
			b++;
		while (t > b && isspace((unsigned char)t[-1]))
			t--;
		size_t len = (size_t)(t - b);
		if (len == 0)
			return WHY("empty item in \"%.80s\"", v);
		if (k == cap)
			return WHY("too many items (at most %zu)", cap);
		if (len >= room)
			return WHY("\"%.*s\" is too long (at most %zu characters)", (int)len, b,
				   room - 1);
		memcpy(items[k], b, len);
		items[k][len] = '\0';
		if (e->check && (why_item = e->check(items[k])))
			return WHY("%s, got \"%.80s\"", why_item, items[k]);
		for (size_t j = 0; j < k; j++)
			if (strcmp(items[j], items[k]) == 0)
				return WHY("\"%.80s\" is listed twice", items[k]);
		k++;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return WHY("empty item in \"%.80s\"", v);
	}
	if ((long long)k < e->min)
		return WHY("expected at least %lld item%s", e->min, e->min == 1 ? "" : "s");
	memset(field, 0, e->size * e->max_items);
	for (size_t j = 0; j < k; j++)
		memcpy((char *)field + j * e->size, items[j], strlen(items[j]) + 1);
	*count = k;
	return 0;
}

/* Parse v for entry e into cfg. Nothing is written on error. */
static int set_value(const struct centry *e, struct config *cfg, const char *v, char *why,
		     size_t n)
{
	void *field = (char *)cfg + e->off;
	const char *reason;
	long long i;
	double d;
	char *end;

	switch (e->type) {
	case T_LISTEN:
		if (parse_listen(v, why, n))
			return -1;
		/* fall through */
	case T_STRING:
		if (strlen(v) >= e->size)
			return WHY("too long (at most %zu characters)", e->size - 1);
		if (e->check && (reason = e->check(v)))
			return config_is_secret(e) || !*v ? WHY("%s", reason)
						   : WHY("%s, got \"%.80s\"", reason, v);
		memset(field, 0, e->size);
		memcpy(field, v, strlen(v));
		return 0;
	case T_BOOL:
		return parse_bool(v, field, why, n);
	case T_INT:
	case T_MS:
		if (parse_integer(v, &i) || i < e->min || i > e->max)
			return WHY("expected %s from %lld to %lld, got \"%.80s\"",
				   e->type == T_MS ? "milliseconds" : "an integer", e->min, e->max, v);
		*(int *)field = (int)i;
		return 0;
	case T_SIZE:
		return parse_size(e, v, field, why, n);
	case T_LOGLEVEL:
		if (log_level_parse(v, field) != RD_OK)
			return WHY("expected debug, info, warn or error, got \"%.80s\"", v);
		return 0;
	case T_MONEY:
		return parse_money(e, v, field, why, n);
	case T_STRLIST:
		return parse_list(e, v, field, (size_t *)(void *)((char *)cfg + e->count_off),
				  why, n);
	case T_RATIO:
		errno = 0;
		d = strtod(v, &end);
		if (!*v || strspn(v, "0123456789.") != strlen(v) || *end || errno || !isfinite(d) ||
		    d < 0.0 || d > 1.0)
			return WHY("expected a number from 0 to 1 like 0.25, got \"%.80s\"", v);
		*(double *)field = d;
		return 0;
	}
	return WHY("unknown type");
}

void config_defaults(struct config *cfg)
{
	char why[256];
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < config_n_entries; i++) {
		if (set_value(&config_entries[i], cfg, config_entries[i].def, why, sizeof why) != 0) {
			/* a bug in the table above, caught by the unit tests */
			fprintf(stderr, "config: bad default for [%s] %s: %s\n", config_entries[i].section,
				config_entries[i].key, why);
			abort();
		}
	}
}

/* ---- loading ------------------------------------------------------------ */

struct load_state {
	struct config *cfg;
	const char *path;
	FILE *f;
	char *buf;                 /* getline buffer, owned, freed by config_load */
	size_t cap;
	int lineno;                /* line the reader returned last (inih counts the same) */
	int continuation;          /* inih reads that line as more of the value above */
	int in_key;                /* inih's prev_name is set: a key since the last [section] */
	int section_line;          /* line of the last "[section]" */
	int read_errno;            /* errno of a failed read, 0 if none */
	int origin[CONFIG_MAX_ENTRIES];     /* 0 default, > 0 line in the file, -1 environment */
	int err_line;              /* line of the first error recorded; -1 = not from a line */
	char err[512];             /* its text, "" if none */
};

/* Record an error unless one is already there (the first one wins). line > 0
 * prefixes "path:line: ", line == 0 "path: ", line < 0 nothing. */
static RD_PRINTF(3, 4) void fail(struct load_state *st, int line, const char *fmt, ...)
{
	va_list ap;
	size_t used = 0;
	if (st->err[0])
		return;
	if (line > 0)
		used = (size_t)snprintf(st->err, sizeof st->err, "%s:%d: ", st->path, line);
	else if (line == 0)
		used = (size_t)snprintf(st->err, sizeof st->err, "%s: ", st->path);
	if (used >= sizeof st->err)
		used = sizeof st->err - 1;
	va_start(ap, fmt);
	vsnprintf(st->err + used, sizeof st->err - used, fmt, ap);
	va_end(ap);
	st->err_line = line > 0 ? line : -1;
}

static int known_section(const char *s)
{
	for (size_t i = 0; i < config_n_entries; i++)
		if (strcmp(config_entries[i].section, s) == 0)
			return 1;
	return 0;
}

/* inih's reader: one line per call, as fgets would, counted; a line that
 * would not fit inih's buffer (num) stops the parse with an error. */
static char *read_line(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	errno = 0;
	ssize_t got = getline(&st->buf, &st->cap, st->f);
	if (got < 0) {
		if (ferror(st->f))
			st->read_errno = errno ? errno : EIO;
		return NULL;
	}
	size_t len = (size_t)got;
	st->lineno++;
	if (memchr(st->buf, '\0', len)) {
		fail(st, st->lineno, "NUL byte in line");
		return NULL;
	}
	size_t text = len;
	if (text && st->buf[text - 1] == '\n')
		text--;
	if (text && st->buf[text - 1] == '\r')
		text--;
	if (num < 4 || text > (size_t)num - 3) {
		fail(st, st->lineno, "line longer than %d characters (inih would cut it); "
		     "give long values through REDRESS_* environment variables", num - 3);
		return NULL;
	}
	memcpy(str, st->buf, len + 1); /* len ≤ text + 2 ≤ num - 1 */
	/* classify the line as ini_parse_stream (r55) will */
	const char *s = str;
	if (st->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	int indented = *s == ' ' || *s == '\t';
	s += strspn(s, " \t\r\n");
	st->continuation = 0;
	if (!*s || strchr(";#", *s)) {
		/* blank or comment */
	} else if (st->in_key && indented) {
		st->continuation = 1;
	} else if (*s == '[') {
		const char *rb = strchr(s, ']');
		st->section_line = st->lineno;
		st->in_key = 0;
		if (rb) {
			char name[64];
			snprintf(name, sizeof name, "%.*s", (int)(rb - s - 1), s + 1);
			if (!known_section(name))
				fail(st, st->lineno, "[%s]: unknown section", name);
		}
	} else if (strpbrk(s, "=:")) {
		st->in_key = 1;
	}
	return str;
}

/* inih's handler: nonzero when the pair is fine. */
static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	char why[384];
	int line = st->lineno;

	if (st->continuation) {
		fail(st, line, "[%s] %s: indented line read as a continuation of the value "
		     "above; remove the leading blanks", section, name);
		return 0;
	}
	if (!*section) {
		fail(st, line, "%s: key outside any [section]", name);
		return 0;
	}
	if (!known_section(section)) /* reported at its [section] line */
		return 0;
	for (size_t i = 0; i < config_n_entries; i++) {
		const struct centry *e = &config_entries[i];
		if (strcmp(e->section, section) != 0 || strcmp(e->key, name) != 0)
			continue;
		if (st->origin[i] > 0) {
			fail(st, line, "[%s] %s: set twice (first at line %d)", section, name,
			     st->origin[i]);
			return 0;
		}
		st->origin[i] = line;
		if (set_value(e, st->cfg, value, why, sizeof why) != 0) {
			fail(st, line, "[%s] %s: %s", section, name, why);
			return 0;
		}
		return 1;
	}
	fail(st, line, "[%s] %s: unknown key", section, name);
	return 0;
}

/* "REDRESS_" + SECTION + "_" + KEY, upper case, '.' and '-' as '_'. */
static void env_name(const struct centry *e, char *buf, size_t n)
{
	snprintf(buf, n, "REDRESS_%s_%s", e->section, e->key);
	for (char *p = buf; *p; p++)
		*p = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
}

static int apply_env(struct load_state *st)
{
	char name[96], why[384];
	for (size_t i = 0; i < config_n_entries; i++) {
		const struct centry *e = &config_entries[i];
		env_name(e, name, sizeof name);
		const char *v = getenv(name);
		if (!v)
			continue;
		if (set_value(e, st->cfg, v, why, sizeof why) != 0) {
			fail(st, -1, "env %s: [%s] %s: %s", name, e->section, e->key, why);
			return -1;
		}
		st->origin[i] = -1;
	}
	return 0;
}

static size_t entry_index(const char *section, const char *key)
{
	for (size_t i = 0; i < config_n_entries; i++)
		if (strcmp(config_entries[i].section, section) == 0 && strcmp(config_entries[i].key, key) == 0)
			return i;
	abort(); /* only called with names from the table */
}

/* A cross-check error, prefixed by where the value of section/key came from. */
static RD_PRINTF(4, 5) void fail_at(struct load_state *st, const char *section,
				    const char *key, const char *fmt, ...)
{
	char name[96], msg[384];
	size_t i = entry_index(section, key);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (st->origin[i] < 0) {
		env_name(&config_entries[i], name, sizeof name);
		fail(st, -1, "env %s: [%s] %s: %s", name, section, key, msg);
	} else {
		fail(st, st->origin[i], "[%s] %s: %s", section, key, msg);
	}
}

static int cross_check(struct load_state *st)
{
	const struct config *c = st->cfg;
	size_t i;
	for (i = 0; i < c->agent.n_locales; i++)
		if (strcmp(c->agent.locales[i], c->agent.default_locale) == 0)
			break;
	if (i == c->agent.n_locales)
		fail_at(st, "agent", "default_locale", "\"%s\" is not in locales",
			c->agent.default_locale);
	else if (c->test_channel.enabled && !c->test_channel.api_key[0])
		fail_at(st, "test_channel", "api_key", "required when the test channel is "
			"enabled (or set REDRESS_TEST_CHANNEL_API_KEY)");
	else if (c->rails.n_enabled == 0) /* also refused by the parser (min 1) */
		fail_at(st, "rails", "enabled", "at least one rail is required");
	else if (!strcmp(c->orders.store, "postgres") && !c->orders_pg.conninfo[0])
		fail_at(st, "orders.postgres", "conninfo", "required when [orders] store = postgres "
			"(or set REDRESS_ORDERS_POSTGRES_CONNINFO)");
	else if (!strcmp(c->orders.store, "http") && !c->orders_http.base_url[0])
		fail_at(st, "orders.http", "base_url", "required when [orders] store = http");
	else if (c->orders_http.bearer_token[0] && c->orders_http.username[0])
		fail_at(st, "orders.http", "username", "give bearer_token or username and password, "
			"not both");
	else if (c->whatsapp.enabled && !c->whatsapp.app_secret[0])
		fail_at(st, "whatsapp", "app_secret", "required when WhatsApp is enabled "
			"(or set REDRESS_WHATSAPP_APP_SECRET)");
	else if (c->whatsapp.enabled && !c->whatsapp.verify_token[0])
		fail_at(st, "whatsapp", "verify_token", "required when WhatsApp is enabled");
	else if (c->whatsapp.enabled && !c->whatsapp.access_token[0])
		fail_at(st, "whatsapp", "access_token", "required when WhatsApp is enabled "
			"(or set REDRESS_WHATSAPP_ACCESS_TOKEN)");
	else if (c->whatsapp.enabled && !c->whatsapp.phone_number_id[0])
		fail_at(st, "whatsapp", "phone_number_id", "required when WhatsApp is enabled");
	else if (c->slack.enabled && !c->slack.signing_secret[0])
		fail_at(st, "slack", "signing_secret", "required when Slack is enabled "
			"(or set REDRESS_SLACK_SIGNING_SECRET)");
	else if (c->slack.enabled && !c->slack.bot_token[0])
		fail_at(st, "slack", "bot_token", "required when Slack is enabled "
			"(or set REDRESS_SLACK_BOT_TOKEN)");
	return st->err[0] ? -1 : 0;
}

enum rd_err config_load_stream(FILE *f, const char *path, struct config *cfg, char *err,
			       size_t errlen)
{
	struct load_state state, *st = &state;
	enum rd_err rc = RD_ECONFIG;
	int ret;

	memset(st, 0, sizeof *st);
	config_defaults(cfg);
	snprintf(cfg->path, sizeof cfg->path, "%s", path);
	st->cfg = cfg;
	st->path = path;
	st->f = f;
	ret = ini_parse_stream(read_line, st, on_pair, st);
	if (st->read_errno || ret == -2) { /* -2: inih could not allocate */
		st->err[0] = '\0';
		fail(st, 0, "cannot read: %s", strerror(st->read_errno ? st->read_errno : ENOMEM));
		goto out;
	}
	/* inih returns the first bad line, ours or its own: if it is before the
	 * first one we recorded, it is a syntax error */
	if (ret > 0 && (!st->err[0] || (st->err_line > 0 && ret < st->err_line))) {
		st->err[0] = '\0';
		fail(st, ret, "syntax error");
	}
	if (st->err[0] || apply_env(st) || cross_check(st))
		goto out;
	rc = RD_OK;
out:
	if (rc != RD_OK && err && errlen)
		snprintf(err, errlen, "%s", st->err);
	free(st->buf);
	return rc;
}

enum rd_err config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		config_defaults(cfg);
		snprintf(cfg->path, sizeof cfg->path, "%s", path);
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return RD_ECONFIG;
	}
	enum rd_err rc = config_load_stream(f, path, cfg, err, errlen);
	fclose(f);
	return rc;
}

/* ---- dump ----------------------------------------------------------------- */

static void format_value(const struct centry *e, const struct config *cfg, char *buf,
			 size_t n)
{
	const void *field = (const char *)cfg + e->off;
	size_t used = 0;
	buf[0] = '\0';
	switch (e->type) {
	case T_STRING:
	case T_LISTEN:
		snprintf(buf, n, "%s", (const char *)field);
		break;
	case T_BOOL:
		snprintf(buf, n, "%s", *(const int *)field ? "true" : "false");
		break;
	case T_INT:
	case T_MS:
		snprintf(buf, n, "%d", *(const int *)field);
		break;
	case T_SIZE:
		size_text((long long)*(const size_t *)field, buf, n);
		break;
	case T_LOGLEVEL: {
		static const char *const names[] = { "debug", "info", "warn", "error" };
		unsigned lvl = (unsigned)*(const enum log_level *)field;
		snprintf(buf, n, "%s", lvl < RD_ARRAY_LEN(names) ? names[lvl] : "?");
		break;
	}
	case T_MONEY: {
		const struct money_list *l = field;
		for (size_t i = 0; i < l->n && used < n; i++) {
			char dec[48];
			if (money_decimal(l->v[i].minor, l->v[i].cur, dec, sizeof dec) != RD_OK)
				snprintf(dec, sizeof dec, "?");
			used += (size_t)snprintf(buf + used, n - used, "%s%s %s", i ? ", " : "",
						 l->v[i].cur, dec);
		}
		break;
	}
	case T_STRLIST: {
		size_t count = *(const size_t *)(const void *)((const char *)cfg + e->count_off);
		for (size_t i = 0; i < count && used < n; i++)
			used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
						 (const char *)field + i * e->size);
		break;
	}
	case T_RATIO:
		snprintf(buf, n, "%g", *(const double *)field);
		break;
	}
}

void config_dump(const struct config *cfg, FILE *f)
{
	const char *section = NULL;
	char v[1024];
	fprintf(f, "; effective configuration: defaults, then %s, then REDRESS_* environment\n",
		cfg->path[0] ? cfg->path : "(no file)");
	for (size_t i = 0; i < config_n_entries; i++) {
		const struct centry *e = &config_entries[i];
		if (!section || strcmp(section, e->section) != 0) {
			section = e->section;
			fprintf(f, "\n[%s]\n", section);
		}
		format_value(e, cfg, v, sizeof v);
		if (config_is_secret(e)) {
			snprintf(v, sizeof v, "%s", v[0] ? "(set)" : ""); /* empty reloads as empty */
		} else if (e->type == T_STRING) {
			/* a password in a URL: scheme://user:pass@host → scheme://(set)@host */
			char *scheme = strstr(v, "://"), *at = scheme ? strchr(scheme + 3, '@') : NULL;
			if (at && at - scheme > 3) {
				memmove(scheme + 8, at, strlen(at) + 1);
				memcpy(scheme + 3, "(set)", 5);
			}
		}
		fprintf(f, "; %s (default: %s)\n", e->doc,
			config_is_secret(e) ? (e->def[0] ? "set" : "empty") : e->def[0] ? e->def : "empty");
		fprintf(f, "%s =%s%s\n", e->key, v[0] ? " " : "", v);
	}
}
