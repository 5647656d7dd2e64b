/* templates.c — load, check and render templates/<locale>/<name>.txt.
 *
 * Each file is parsed once at load into segments (literal runs and
 * placeholder names) that point into the file text, so rendering is two
 * passes over the segments (measure, copy) and one malloc. After
 * templates_load returns, nothing is written: any number of threads may
 * render concurrently. */
#include "agent/templates.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMPLATE_MAX_BYTES 2048u   /* per file, trailing newline included */
#define TEMPLATE_MAX_LOCALE 35u    /* longest locale tag accepted ("pt-BR") */
#define TEMPLATE_BUTTON_CHARS 20u  /* reply-button titles (WhatsApp caps them at 20) */

struct tpl_seg {
	size_t off;     /* into tpl.text */
	size_t len;
	int is_var;     /* 1: text[off, off+len) is a placeholder name */
};

struct tpl {
	char *text;             /* the file as read, NUL-terminated; owned */
	struct tpl_seg *segs;   /* owned, nsegs entries */
	size_t nsegs;
	size_t lit_len;         /* sum of the literal segments' lengths */
};

struct tpl_locale {
	char *name;             /* as given to templates_load; owned */
	struct tpl tpl[TPL__COUNT];
};

struct templates {
	struct tpl_locale *loc; /* owned, n entries, in load order */
	size_t n;
};

static const char *const tpl_names[TPL__COUNT] = {
#define X(name, vars) #name,
	TEMPLATE_LIST(X)
#undef X
};

static const char *const tpl_vars[TPL__COUNT] = {
#define X(name, vars) vars,
	TEMPLATE_LIST(X)
#undef X
};

const char *template_name(enum template_id id)
{
	if ((unsigned)id >= TPL__COUNT)
		return "unknown";
	return tpl_names[id];
}

/* Extra limit in characters (code points) for one template; 0 = none. */
static size_t tpl_max_chars(enum template_id id)
{
	return id == TPL_button_yes || id == TPL_button_no ? TEMPLATE_BUTTON_CHARS : 0;
}

/* Write "path: message" into err (may be NULL). Always RD_ECONFIG. */
static enum rd_err RD_PRINTF(4, 5)
file_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s: ", path);
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return RD_ECONFIG;
}

/* ---- locale tags ---------------------------------------------------- */

/* ASCII-only fold: case-insensitive, '_' same as '-'. */
static char loc_fold(char c)
{
	if (c == '_')
		return '-';
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

static int loc_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Equal when a[0, an) and b[0, bn) fold to the same tag. */
static int loc_eq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if (loc_fold(a[i]) != loc_fold(b[i]))
			return 0;
	return 1;
}

/* Length of the language subtag: "pt-BR" → 2. */
static size_t loc_lang_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != '-' && s[i] != '_')
		i++;
	return i;
}

static const struct tpl_locale *loc_find(const struct templates *t, const char *tag, size_t n)
{
	for (size_t i = 0; i < t->n; i++)
		if (loc_eq(t->loc[i].name, strlen(t->loc[i].name), tag, n))
			return &t->loc[i];
	return NULL;
}

const char *templates_locale(const struct templates *t, const char *hint, const char *fallback)
{
	if (!t)
		return fallback;
	if (hint) {
		/* the first tag only: "pt-BR,pt;q=0.9" reads as "pt-BR" */
		size_t n = 0;
		while (hint[n] && loc_char(hint[n]))
			n++;
		const struct tpl_locale *l = n ? loc_find(t, hint, n) : NULL;
		if (l)
			return l->name;
		size_t ln = loc_lang_len(hint, n);
		for (size_t i = 0; ln && i < t->n; i++) {
			const char *name = t->loc[i].name;
			if (loc_eq(name, loc_lang_len(name, strlen(name)), hint, ln))
				return name;
		}
	}
	if (fallback) {
		const struct tpl_locale *l = loc_find(t, fallback, strlen(fallback));
		if (l)
			return l->name;
	}
	return fallback;
}

/* ---- checking and parsing one file ----------------------------------- */

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, ≤ U+10FFFF).
 * Returns the offset of the first bad byte, or len when all is valid;
 * *chars gets the number of code points read. */
static size_t utf8_check(const unsigned char *s, size_t len, size_t *chars)
{
	size_t i = 0, n = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t k;
		unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
		if (c < 0x80) {
			k = 0;
		} else if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			break;
		}
		if (i + k >= len && k)
			break;
		if (k && (s[i + 1] < lo || s[i + 1] > hi))
			break;
		size_t j;
		for (j = 2; j <= k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xBF)
				break;
		if (k && j <= k)
			break;
		i += k + 1;
		n++;
	}
	*chars = n;
	return i;
}

/* 1-based line and column (in characters) of byte off. */
static void line_col(const char *s, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)s[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Index of word w[0, n) in a space-separated list, or -1. */
static int word_index(const char *list, const char *w, size_t n)
{
	int idx = 0;
	const char *p = list;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t m = strcspn(p, " ");
		if (m == n && memcmp(p, w, n) == 0)
			return idx;
		p += m;
		idx++;
	}
	return -1;
}

static enum rd_err seg_push(struct tpl *t, size_t *cap, size_t off, size_t len, int is_var)
{
	if (len == 0 && !is_var)
		return RD_OK;
	if (t->nsegs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct tpl_seg *s = realloc(t->segs, ncap * sizeof *s);
		if (!s)
			return RD_ENOMEM;
		t->segs = s;
		*cap = ncap;
	}
	t->segs[t->nsegs++] = (struct tpl_seg){ .off = off, .len = len, .is_var = is_var };
	if (!is_var)
		t->lit_len += len;
	return RD_OK;
}

/* Split t->text[0, len) into segments, checking each placeholder against
 * the space-separated allowed list, and that every allowed name is used. */
static enum rd_err tpl_parse(struct tpl *t, size_t len, const char *allowed, const char *path,
			     char *err, size_t errlen)
{
	const char *s = t->text;
	unsigned used = 0; /* bit i: the i-th allowed name appears (lists are < 32 names) */
	size_t cap = 0, lit = 0, i = 0, line, col;

	while (i < len) {
		if (s[i] != '{') {
			i++;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '{') { /* "{{": keep one '{' */
			if (seg_push(t, &cap, lit, i + 1 - lit, 0))
				return RD_ENOMEM;
			i += 2;
			lit = i;
			continue;
		}
		size_t j = i + 1;
		while (j < len && name_char(s[j]))
			j++;
		if (j >= len || s[j] != '}') {
			size_t end = i + 1 + strcspn(s + i + 1, "{}\n");
			line_col(s, i, &line, &col);
			if (end < len && s[end] == '}')
				return file_err(err, errlen, path,
						"bad placeholder {%.*s} at line %zu, column %zu "
						"(names are letters, digits and _)",
						(int)(end - i - 1 > 40 ? 40 : end - i - 1), s + i + 1,
						line, col);
			return file_err(err, errlen, path,
					"unclosed { at line %zu, column %zu (write {{ for a literal {)",
					line, col);
		}
		if (j == i + 1) {
			line_col(s, i, &line, &col);
			return file_err(err, errlen, path, "empty placeholder {} at line %zu, column %zu",
					line, col);
		}
		int k = word_index(allowed, s + i + 1, j - i - 1);
		if (k < 0)
			return file_err(err, errlen, path, "unknown placeholder {%.*s} (allowed: %s)",
					(int)(j - i - 1 > 40 ? 40 : j - i - 1), s + i + 1,
					allowed[0] ? allowed : "none");
		used |= 1u << k;
		if (seg_push(t, &cap, lit, i - lit, 0) || seg_push(t, &cap, i + 1, j - i - 1, 1))
			return RD_ENOMEM;
		i = j + 1;
		lit = i;
	}
	if (seg_push(t, &cap, lit, len - lit, 0))
		return RD_ENOMEM;

	/* a translation that drops {amount} from a refund confirmation is a bug */
	const char *p = allowed;
	for (int k = 0; *p; k++) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t m = strcspn(p, " ");
		if (!(used & (1u << k)))
			return file_err(err, errlen, path, "does not use {%.*s} (it must use: %s)",
					(int)m, p, allowed);
		p += m;
	}
	return RD_OK;
}

/* Read path (≤ TEMPLATE_MAX_BYTES) into a malloc'd NUL-terminated buffer. */
static enum rd_err read_small_file(const char *path, char **out, size_t *len, char *err,
				   size_t errlen)
{
	enum rd_err rc = RD_OK;
	char *buf = NULL, eb[128];
	size_t got = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0) {
		if (errno == ENOENT)
			return file_err(err, errlen, path, "missing");
		return file_err(err, errlen, path, "%s", strerror_r(errno, eb, sizeof eb));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = file_err(err, errlen, path, "not a regular file");
		goto out;
	}
	buf = malloc(TEMPLATE_MAX_BYTES + 2);
	if (!buf) {
		rc = RD_ENOMEM;
		goto out;
	}
	while (got <= TEMPLATE_MAX_BYTES) {
		ssize_t r = read(fd, buf + got, TEMPLATE_MAX_BYTES + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = file_err(err, errlen, path, "%s", strerror_r(errno, eb, sizeof eb));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > TEMPLATE_MAX_BYTES) {
		rc = file_err(err, errlen, path, "too large (over %u bytes)", TEMPLATE_MAX_BYTES);
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Load and check one file into t (zeroed by the caller). */
static enum rd_err tpl_load(struct tpl *t, const char *path, enum template_id id, char *err,
			    size_t errlen)
{
	size_t len, chars;
	enum rd_err rc = read_small_file(path, &t->text, &len, err, errlen);
	if (rc)
		return rc;

	const char *nul = memchr(t->text, '\0', len);
	if (nul)
		return file_err(err, errlen, path, "contains a NUL byte at byte %zu",
				(size_t)(nul - t->text));
	size_t bad = utf8_check((const unsigned char *)t->text, len, &chars);
	if (bad < len)
		return file_err(err, errlen, path, "invalid UTF-8 at byte %zu", bad);
	if (len >= 3 && memcmp(t->text, "\xEF\xBB\xBF", 3) == 0)
		return file_err(err, errlen, path, "starts with a byte-order mark (save without BOM)");

	/* one trailing newline is dropped ("\r\n" counts as one) */
	if (len && t->text[len - 1] == '\n') {
		len--;
		if (len && t->text[len - 1] == '\r')
			len--;
		chars -= t->text[len] == '\r' ? 2 : 1;
		t->text[len] = '\0';
	}
	if (len == 0)
		return file_err(err, errlen, path, "empty");

	rc = tpl_parse(t, len, tpl_vars[id], path, err, errlen);
	if (rc)
		return rc == RD_ENOMEM ? RD_ENOMEM : RD_ECONFIG;

	size_t max = tpl_max_chars(id);
	if (max && chars > max)
		return file_err(err, errlen, path, "too long: %zu characters (at most %zu)", chars,
				max);
	return RD_OK;
}

static void tpl_clear(struct tpl *t)
{
	free(t->text);
	free(t->segs);
	memset(t, 0, sizeof *t);
}

void templates_free(struct templates *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		for (size_t k = 0; k < TPL__COUNT; k++)
			tpl_clear(&t->loc[i].tpl[k]);
		free(t->loc[i].name);
	}
	free(t->loc);
	free(t);
}

enum rd_err templates_load(const char *dir, const char *const *locales, size_t n_locales,
			   struct templates **out, char *err, size_t errlen)
{
	enum rd_err rc = RD_OK;
	struct templates *t = NULL;
	char *path = NULL;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return RD_EINVAL;
	*out = NULL;
	if (!dir || !locales || n_locales == 0) {
		if (err && errlen)
			snprintf(err, errlen, "templates: no directory or no locales");
		return RD_EINVAL;
	}
	size_t dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;

	t = calloc(1, sizeof *t);
	if (!t || !(t->loc = calloc(n_locales, sizeof *t->loc))) {
		rc = RD_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_locales; i++) {
		const char *name = locales[i];
		size_t n = name ? strlen(name) : 0;
		int ok = n > 0 && n <= TEMPLATE_MAX_LOCALE && name[0] != '-' && name[0] != '_';
		for (size_t c = 0; ok && c < n; c++)
			ok = loc_char(name[c]);
		if (!ok) {
			if (err && errlen)
				snprintf(err, errlen, "templates: bad locale name \"%.40s\"",
					 name ? name : "");
			rc = RD_ECONFIG;
			goto out;
		}
		if (loc_find(t, name, n)) {
			if (err && errlen)
				snprintf(err, errlen, "templates: locale %s listed twice", name);
			rc = RD_ECONFIG;
			goto out;
		}
		struct tpl_locale *l = &t->loc[t->n++];
		if (!(l->name = strdup(name))) {
			rc = RD_ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < TPL__COUNT; k++) {
			free(path);
			if (asprintf(&path, "%.*s/%s/%s.txt", (int)dlen, dir, name, tpl_names[k]) < 0) {
				path = NULL;
				rc = RD_ENOMEM;
				goto out;
			}
			rc = tpl_load(&l->tpl[k], path, (enum template_id)k, err, errlen);
			if (rc)
				goto out;
		}
	}
	*out = t;
	t = NULL;
out:
	if (rc == RD_ENOMEM && err && errlen)
		snprintf(err, errlen, "templates: out of memory");
	free(path);
	templates_free(t);
	return rc;
}

/* ---- rendering ------------------------------------------------------- */

/* The value of name[0, n) in vars, or NULL. vars is already checked. */
static const char *var_get(const char *const *vars, const char *name, size_t n)
{
	for (size_t i = 0; vars && vars[i]; i += 2)
		if (strncmp(vars[i], name, n) == 0 && vars[i][n] == '\0')
			return vars[i + 1];
	return NULL;
}

enum rd_err templates_render(const struct templates *t, const char *locale, enum template_id id,
			     const char *const *vars, char **out)
{
	if (out)
		*out = NULL;
	if (!t || !locale || !out || (unsigned)id >= TPL__COUNT)
		return RD_EINVAL;
	for (size_t i = 0; vars && vars[i]; i += 2)
		if (!vars[i + 1])
			return RD_EINVAL; /* a key without a value */
	const struct tpl_locale *l = loc_find(t, locale, strlen(locale));
	if (!l)
		return RD_ENOTFOUND;

	const struct tpl *tp = &l->tpl[id];
	size_t total = tp->lit_len;
	for (size_t i = 0; i < tp->nsegs; i++) {
		const struct tpl_seg *sg = &tp->segs[i];
		if (!sg->is_var)
			continue;
		const char *v = var_get(vars, tp->text + sg->off, sg->len);
		if (!v)
			return RD_EINVAL;
		size_t vl = strlen(v);
		if (total > SIZE_MAX - 1 - vl)
			return RD_ELIMIT;
		total += vl;
	}
	char *buf = malloc(total + 1), *p = buf;
	if (!buf)
		return RD_ENOMEM;
	for (size_t i = 0; i < tp->nsegs; i++) {
		const struct tpl_seg *sg = &tp->segs[i];
		const char *src = tp->text + sg->off;
		size_t n = sg->len;
		if (sg->is_var) {
			src = var_get(vars, src, n);
			n = strlen(src);
		}
		memcpy(p, src, n);
		p += n;
	}
	*p = '\0';
	*out = buf;
	return RD_OK;
}
