/* llm_guard.c — the phrasing guard. The model phrases a reply's skeleton
 * (its template with the slots still "{amount}", "{order}"…) and never sees
 * or writes a value: the agent fills the slots itself. The guard refuses a
 * phrasing that drops, repeats or invents a slot, or that writes what only
 * a slot may carry — a number, a link, an email address, a currency. Pure
 * functions over NUL-terminated UTF-8. */
#include "agent/llm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MAX_SLOTS 16
#define GUARD_MAX_BYTES 1000u  /* a phrased reply (WhatsApp buttons allow 1024) */
#define GUARD_SLACK     120u   /* bytes a phrasing may add to twice the skeleton */

struct slot {
	const char *at;  /* the '{' */
	size_t len;      /* of "{name}" */
};

/* "{name}" at p, name of [a-z_]+: its length, else 0. */
static size_t slot_len(const char *p)
{
	size_t k = 1;
	if (*p != '{')
		return 0;
	while ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '_')
		k++;
	return k > 1 && p[k] == '}' ? k + 1 : 0;
}

/* The slots of s; -1 on a brace that is not part of one, or too many. */
static int slots_of(const char *s, struct slot *sl)
{
	int n = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '}')
			return -1;
		if (*p != '{')
			continue;
		size_t l = slot_len(p);
		if (!l || n == GUARD_MAX_SLOTS)
			return -1;
		sl[n].at = p;
		sl[n++].len = l;
		p += l - 1;
	}
	return n;
}

static int count_slot(const struct slot *sl, int n, const struct slot *x)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		c += sl[i].len == x->len && memcmp(sl[i].at, x->at, x->len) == 0;
	return c;
}

/* s without its slots (replaced by a space), lower-cased. Caller frees. */
static char *free_text(const char *s)
{
	char *o = malloc(strlen(s) + 1), *q = o;
	if (!o)
		return NULL;
	for (const char *p = s; *p;) {
		size_t l = slot_len(p);
		if (l) {
			*q++ = ' ';
			p += l;
			continue;
		}
		*q++ = (char)tolower((unsigned char)*p++);
	}
	*q = '\0';
	return o;
}

/* Does every digit run of a occur as a digit run of b? */
static int digits_within(const char *a, const char *b, char *bad, size_t n)
{
	for (const char *p = a; *p;) {
		if (!isdigit((unsigned char)*p)) {
			p++;
			continue;
		}
		size_t l = strspn(p, "0123456789");
		int found = 0;
		for (const char *q = b; *q && !found;) {
			size_t m = strspn(q, "0123456789");
			if (m == 0) {
				q++;
				continue;
			}
			found = m == l && memcmp(p, q, l) == 0;
			q += m;
		}
		if (!found) {
			snprintf(bad, n, "writes the number %.*s", (int)(l > 20 ? 20 : l), p);
			return 0;
		}
		p += l;
	}
	return 1;
}

static size_t occurrences(const char *s, const char *what)
{
	size_t c = 0, n = strlen(what);
	for (const char *p = strstr(s, what); p; p = strstr(p + n, what))
		c++;
	return c;
}

/* Markers only a slot may carry: links, addresses, currency signs and codes
 * (free text is lower-cased, so codes are matched lower-case as words). */
static const char *const markers[] = {
	"http", "www.", "://", "@", "$", "\xe2\x82\xac" /* € */, "\xc2\xa3" /* £ */,
	"\xc2\xa5" /* ¥ */, ".com", ".br", ".io",
};
static const char *const codes[] = { "usd", "usdc", "eur", "brl", "gbp", "mxn", "ars", "clp",
				     "cop", "jpy", "reais", "dollars", "euros", "pesos" };

static int word_count(const char *s, const char *w)
{
	size_t n = strlen(w);
	int c = 0;
	for (const char *p = strstr(s, w); p; p = strstr(p + 1, w))
		c += (p == s || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]);
	return c;
}

int llm_phrase_ok(const char *skel, const char *phrased, char *why, size_t n)
{
	struct slot a[GUARD_MAX_SLOTS], b[GUARD_MAX_SLOTS];
	char tmp[120], *fa = NULL, *fb = NULL;
	int ok = 0, na, nb;
	size_t sl = strlen(skel), pl = strlen(phrased);

	if (!why) {
		why = tmp;
		n = sizeof tmp;
	}
	if (pl == 0 || pl > GUARD_MAX_BYTES || pl > 2 * sl + GUARD_SLACK) {
		snprintf(why, n, "length %zu (skeleton %zu)", pl, sl);
		return 0;
	}
	if ((na = slots_of(skel, a)) < 0 || (nb = slots_of(phrased, b)) < 0) {
		snprintf(why, n, "a brace that is not a slot");
		return 0;
	}
	for (int i = 0; i < na; i++)
		if (count_slot(b, nb, &a[i]) != count_slot(a, na, &a[i])) {
			snprintf(why, n, "slot %.*s dropped or repeated", (int)a[i].len, a[i].at);
			return 0;
		}
	for (int i = 0; i < nb; i++)
		if (count_slot(a, na, &b[i]) == 0) {
			snprintf(why, n, "new slot %.*s", (int)b[i].len, b[i].at);
			return 0;
		}
	if (!(fa = free_text(skel)) || !(fb = free_text(phrased))) {
		snprintf(why, n, "out of memory");
		goto out;
	}
	if (!digits_within(fb, fa, why, n))
		goto out;
	for (size_t i = 0; i < RD_ARRAY_LEN(markers); i++)
		if (occurrences(fb, markers[i]) > occurrences(fa, markers[i])) {
			snprintf(why, n, "writes \"%s\"", markers[i]);
			goto out;
		}
	for (size_t i = 0; i < RD_ARRAY_LEN(codes); i++)
		if (word_count(fb, codes[i]) > word_count(fa, codes[i])) {
			snprintf(why, n, "writes the currency \"%s\"", codes[i]);
			goto out;
		}
	ok = 1;
out:
	free(fa);
	free(fb);
	return ok;
}

/* Match skeleton parts from slot index si / position sp against text at tp,
 * recording each slot's value; 1 on a full match. Literal text between
 * slots anchors the search, so this is at most a few passes per slot. */
static int match(const struct slot *sl, int ns, int si, const char *sp, const char *tp,
		 const char **val, size_t *vlen)
{
	const char *lit_end = si < ns ? sl[si].at : sp + strlen(sp);
	size_t ll = (size_t)(lit_end - sp);
	if (strncmp(sp, tp, ll) != 0)
		return 0;
	tp += ll;
	if (si == ns)
		return *tp == '\0';
	/* slot si: try every end, shortest first */
	const char *next = sl[si].at + sl[si].len;
	for (const char *e = tp;; e++) {
		/* a slot seen before must have the same value */
		int same = 1;
		for (int k = 0; k < si; k++)
			if (sl[k].len == sl[si].len && memcmp(sl[k].at, sl[si].at, sl[k].len) == 0)
				same = vlen[k] == (size_t)(e - tp) && memcmp(val[k], tp, vlen[k]) == 0;
		if (same) {
			val[si] = tp;
			vlen[si] = (size_t)(e - tp);
			if (match(sl, ns, si + 1, next, e, val, vlen))
				return 1;
		}
		if (!*e)
			return 0;
	}
}

char *llm_fill_slots(const char *skel, const char *text, const char *phrased)
{
	struct slot a[GUARD_MAX_SLOTS], b[GUARD_MAX_SLOTS];
	const char *val[GUARD_MAX_SLOTS];
	size_t vlen[GUARD_MAX_SLOTS], out_len = 0;
	int na = slots_of(skel, a), nb = slots_of(phrased, b);

	if (na < 0 || nb < 0 || !match(a, na, 0, skel, text, val, vlen))
		return NULL;
	/* each phrased slot gets the value of the skeleton's slot of that name */
	int idx[GUARD_MAX_SLOTS];
	for (int i = 0; i < nb; i++) {
		idx[i] = -1;
		for (int k = 0; k < na && idx[i] < 0; k++)
			if (a[k].len == b[i].len && memcmp(a[k].at, b[i].at, a[k].len) == 0)
				idx[i] = k;
		if (idx[i] < 0)
			return NULL;
		out_len += vlen[idx[i]];
	}
	char *out = malloc(strlen(phrased) + out_len + 1), *q = out;
	if (!out)
		return NULL;
	const char *p = phrased;
	for (int i = 0; i < nb; i++) {
		memcpy(q, p, (size_t)(b[i].at - p));
		q += b[i].at - p;
		memcpy(q, val[idx[i]], vlen[idx[i]]);
		q += vlen[idx[i]];
		p = b[i].at + b[i].len;
	}
	strcpy(q, p);
	return out;
}
