/* orders_sql.c — named SQL parameters to positional ones (orders_sql.h). */
#include "gateway/orders_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Length of the quoted run starting at s (s[0] is the quote q, doubled q
 * inside; backslash escapes when esc), or 0 when it never ends. */
static size_t quoted_len(const char *s, char q, int esc)
{
	size_t i = 1;
	for (;;) {
		if (!s[i])
			return 0;
		if (esc && s[i] == '\\' && s[i + 1]) {
			i += 2;
		} else if (s[i] == q) {
			if (s[i + 1] != q)
				return i + 1;
			i += 2;
		} else {
			i++;
		}
	}
}

/* Length of a block comment at s ("/" "*"), nested as PostgreSQL does, or 0. */
static size_t comment_len(const char *s)
{
	size_t i = 2;
	int depth = 1;
	while (s[i]) {
		if (s[i] == '/' && s[i + 1] == '*') {
			depth++;
			i += 2;
		} else if (s[i] == '*' && s[i + 1] == '/') {
			i += 2;
			if (--depth == 0)
				return i;
		} else {
			i++;
		}
	}
	return 0;
}

/* At s = '$': the tag length ("$" or "$tag$") of a dollar quote, or 0. */
static size_t dollar_tag_len(const char *s)
{
	size_t i = 1;
	if (s[i] == '$')
		return 2;
	if (!ident_start(s[i]))
		return 0;
	while (ident_char(s[i]) && s[i] != '$')
		i++;
	return s[i] == '$' ? i + 1 : 0;
}

static enum rd_err fail(char *err, size_t n, const char *what, const char *at)
{
	if (err && n)
		snprintf(err, n, "%s at \"%.20s\"", what, at);
	return RD_EINVAL;
}

enum rd_err orders_sql_translate(const char *sql, const char *const *names, size_t n_names,
				 struct orders_sql *out, char *err, size_t errlen)
{
	size_t len = strlen(sql), o = 0, i = 0;
	enum rd_err e = RD_OK;
	char *buf;

	memset(out, 0, sizeof *out);
	/* ":x" (2 bytes) becomes at most "$8" (2 bytes): never longer */
	if ((buf = malloc(len + 1)) == NULL)
		return RD_ENOMEM;
	while (i < len) {
		const char *s = sql + i;
		size_t run = 1;
		int prev_ident = i > 0 && ident_char(sql[i - 1]);
		if (s[0] == '\'') {
			int esc = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
				  !(i > 1 && ident_char(sql[i - 2]));
			if ((run = quoted_len(s, '\'', esc)) == 0) {
				e = fail(err, errlen, "unterminated string literal", s);
				goto out;
			}
		} else if (s[0] == '"') {
			if ((run = quoted_len(s, '"', 0)) == 0) {
				e = fail(err, errlen, "unterminated quoted identifier", s);
				goto out;
			}
		} else if (s[0] == '-' && s[1] == '-') {
			run = strcspn(s, "\n");
		} else if (s[0] == '/' && s[1] == '*') {
			if ((run = comment_len(s)) == 0) {
				e = fail(err, errlen, "unterminated comment", s);
				goto out;
			}
		} else if (s[0] == '$' && !prev_ident) {
			if (s[1] >= '0' && s[1] <= '9') {
				e = fail(err, errlen, "positional parameter: write a named one like :order_id",
					 s);
				goto out;
			}
			size_t tag = dollar_tag_len(s);
			if (tag) {
				const char *end = NULL;
				for (const char *p = s + tag; (p = strchr(p, '$')) != NULL; p++)
					if (strncmp(p, s, tag) == 0) {
						end = p;
						break;
					}
				if (!end) {
					e = fail(err, errlen, "unterminated dollar-quoted string", s);
					goto out;
				}
				run = (size_t)(end - s) + tag;
			}
		} else if (s[0] == ':' && s[1] == ':') {
			run = 2; /* a cast: "::text" */
		} else if (s[0] == ':' && ident_start(s[1])) {
			size_t nl = 1, k;
			while (ident_char(s[nl]) && s[nl] != '$')
				nl++;
			for (k = 0; k < n_names; k++)
				if (strlen(names[k]) == nl - 1 && strncmp(names[k], s + 1, nl - 1) == 0)
					break;
			if (k == n_names) {
				if (err && errlen) {
					size_t used = (size_t)snprintf(err, errlen, "unknown parameter :%.*s "
								       "(allowed:", (int)(nl - 1 > 40 ? 40 : nl - 1), s + 1);
					for (size_t j = 0; j < n_names && used < errlen; j++)
						used += (size_t)snprintf(err + used, errlen - used, "%s :%s",
									 j ? "," : "", names[j]);
					if (used < errlen)
						snprintf(err + used, errlen - used, ")");
				}
				e = RD_EINVAL;
				goto out;
			}
			size_t p;
			for (p = 0; p < out->n_params; p++)
				if (out->param[p] == k)
					break;
			if (p == out->n_params) {
				if (p == ORDERS_SQL_MAX_PARAMS) {
					e = fail(err, errlen, "too many parameters", s);
					goto out;
				}
				out->param[out->n_params++] = k;
			}
			o += (size_t)sprintf(buf + o, "$%zu", p + 1);
			i += nl;
			continue;
		}
		memcpy(buf + o, s, run);
		o += run;
		i += run;
	}
	buf[o] = '\0';
	out->text = buf;
	buf = NULL;
out:
	free(buf);
	if (e != RD_OK)
		memset(out, 0, sizeof *out);
	return e;
}

int orders_sql_uses(const struct orders_sql *s, size_t name_index)
{
	for (size_t p = 0; p < s->n_params; p++)
		if (s->param[p] == name_index)
			return 1;
	return 0;
}

void orders_sql_bind(const struct orders_sql *s, const char *const *values, const char **vals)
{
	for (size_t p = 0; p < s->n_params; p++)
		vals[p] = values[s->param[p]];
}

void orders_sql_free(struct orders_sql *s)
{
	free(s->text);
	memset(s, 0, sizeof *s);
}
