/* nlu_entities.c — the byte-level half of nlu (see nlu.c): folding a UTF-8
 * message to ASCII, then order ids, emails and amounts read from it.
 *
 * low[] is lower-case ASCII with accents folded ("número" -> "numero",
 * "€" -> " eur "), cased[] the same bytes with ASCII case as written and
 * ENT_FOLDED where a non-ASCII letter was folded. Pure scanning over bounded
 * buffers; nothing is allocated. */
#include "agent/nlu_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ENT_FOLDED      '\x7f' /* cased[] mark for a letter folded from non-ASCII */
#define ENT_ID_MAX      63u    /* longest order id kept (order_id is 64 bytes) */
#define ENT_BARE_MIN    3u     /* digits of a bare number taken as an order id */
#define ENT_BARE_MAX    12u
#define ENT_MARKED_MAX  20u    /* digits after "order", "pedido", "#" */
#define ENT_ID_DIGITS   3u     /* digits an id like "ORD-123" needs ("utf-8" is no id) */
#define ENT_MARK_HOPS   4      /* filler words between "pedido" and its number */
#define ENT_EMAIL_MAX   254u   /* longest email address looked for */


/* Words that put a number right after them in context. */
#define ORDER_WORDS  "order|orders|pedido|pedidos|orden|ordem|encomenda|compra|purchase|ord"
#define ORDER_FILLER "number|num|nr|nro|nbr|no|n|numero|is|es|e|o|el|id|do|de|del|da|my|mi|" \
		     "meu|minha|the|of|ref"
#define REFUND_WORDS "refund|refunded|reembolso|reembolsar|reembolse|reembolsa|estorno|"     \
		     "estornar|estorne|devolver|devolucao|devolucion|devuelvan|reimburse|paid|" \
		     "pay|paguei|pague|pago|cost|costs|custou|costo|charged|cobrado|cobraram|"  \
		     "cobraron"
#define REFUND_HOP   "me|us|only|just|apenas|somente|solo|back|de|of"
#define ARTICLES     "the|o|a|el|la|os|as|los|las" /* a hop before a decimal only */
#define OF_WORDS     "of|de|do|da|del"
#define OF_OBJECT    "it|that|this|the|my|your|isso|esse|essa|eso|ese|esa|lo|los|las|o|a|os|" \
		     "as|el|la|total|valor|meu|minha|seu|mi|mis|su"
/* A bare number after these is an account, a phone, a year, a quantity… */
#define NOT_ORDER    "account|acct|conta|cuenta|iban|pix|card|cartao|tarjeta|cpf|cnpj|dni|rut|" \
		     "phone|tel|telefone|celular|whatsapp|cel|telefono|movil|mobile|zip|cep|"   \
		     "code|codigo|cvv|pin|agencia|routing|swift|tracking|rastreio|rastreo|"     \
		     "year|ano|anos|in|em|en|since|desde|at|as|las|around|about|cerca|x|call|ligue|" \
		     "ligar|llame|llamar|llamame|sms|text"
#define NOT_ORDER_HOP "is|es|e|my|mi|meu|o|el|the|da|do|de|number|numero|no|n"

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return c >= 'a' && c <= 'z'; }
static int is_alnum(char c) { return is_digit(c) || is_alpha(c); }

/* ---- folding -------------------------------------------------------- */

/* One UTF-8 sequence at s[0..n): its length, code point in *cp. Invalid,
 * overlong, surrogate or truncated sequences give length 1 and U+FFFD, so a
 * caller always advances and never reads past s + n. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 }; /* by length */
	unsigned c = s[0];
	size_t len;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		goto invalid;
	v = c & (0x7fu >> len);
	min = min_cp[len];
	if (len > n)
		goto invalid;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto invalid;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto invalid;
	*cp = v;
	return len;
invalid:
	*cp = 0xfffd;
	return 1;
}

/* Latin-1 letters U+00C0..U+00FF folded to ASCII; ' ' for × ÷ Þ þ. */
static const char latin1_fold[] = "aaaaaaaceeeeiiiidnooooo ouuuuy s"
				  "aaaaaaaceeeeiiiidnooooo ouuuuy y";

/* What a non-ASCII code point becomes: a folded letter (set in *letter, NULL
 * returned), or a short ASCII replacement (markers for € £ and a few emoji;
 * " " for anything else, "" for emoji skin tones). */
static const char *fold_cp(uint32_t cp, char *letter)
{
	*letter = 0;
	if (cp >= 0xc0 && cp <= 0xff && latin1_fold[cp - 0xc0] != ' ') {
		*letter = latin1_fold[cp - 0xc0];
		return NULL;
	}
	if (cp >= 0x100 && cp <= 0x17f) { /* Latin Extended-A: ā ą ć č ę ł ń ř ś š ž … */
		static const char ext_a[] =
			"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiii"
			"jjkkkllllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
		if (cp - 0x100 < sizeof ext_a - 1) {
			*letter = ext_a[cp - 0x100];
			return NULL;
		}
	}
	switch (cp) {
	case 0x20ac: return " eur ";            /* € */
	case 0xa3: return " gbp ";              /* £ */
	case 0xba: case 0xaa: case 0xb0: return "."; /* nº 1ª 5° */
	case 0x2018: case 0x2019: case 0xb4: return "'";
	case 0x1f44d: case 0x1f44c: case 0x2705: case 0x2714: return " thumbsup ";
	case 0x1f44e: case 0x274c: return " thumbsdown ";
	case 0x1f64f: return " thanks ";        /* folded hands */
	case 0xfe0f: case 0x200d: return "";    /* variation selector, ZWJ */
	}
	if (cp >= 0x1f3fb && cp <= 0x1f3ff)     /* skin tones */
		return "";
	return " ";
}

/* 1 when text (UTF-8, NUL-terminated; the first cap bytes) looks spoofed:
 * an invisible formatting character (zero-width space / non-joiner, word
 * joiner, BOM, bidi embeddings and overrides) or a word that mixes ASCII
 * letters or digits with Cyrillic or Greek letters ("jordan@exаmple.com"
 * with a Cyrillic а, "1OO3" with Cyrillic О). Unicode TR 39's mixed-script
 * and invisible-character checks, cut down to what a refund chat needs. */
int nlu_spoofed(const char *text, size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0;
	int ascii = 0, other = 0; /* in the current word */

	while (n < cap && text[n] != '\0')
		n++;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += utf8_next(s + i, n - i, &cp);
		if (cp == 0x200b || cp == 0x200c || cp == 0x2060 || cp == 0xfeff ||
		    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			return 1;
		if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
			ascii = other = 0;
			continue;
		}
		if (cp < 0x80)
			ascii |= is_alnum(cp >= 'A' && cp <= 'Z' ? (char)(cp - 'A' + 'a') : (char)cp);
		else if ((cp >= 0x370 && cp <= 0x3ff) || (cp >= 0x400 && cp <= 0x4ff))
			other = 1;
		if (ascii && other)
			return 1;
	}
	return 0;
}

/* Fold text (UTF-8, NUL-terminated; at most cap bytes of it are read) into
 * low and cased: "NÃO" -> "nao", "€" -> " eur ", "👍" -> " thumbsup ",
 * invalid bytes, control characters and other symbols -> ' ', apostrophes
 * inside words dropped ("don't" -> "dont"). low and cased hold cap + 1 bytes
 * each and end NUL-terminated; output past cap bytes is cut. Returns the
 * folded length. */
size_t nlu_fold(const char *text, char *low, char *cased, size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0, len = 0;

	while (n < cap && text[n] != '\0')
		n++;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		char letter, ascii[2] = { 0, 0 };
		const char *rep;
		i += utf8_next(s + i, n - i, &cp);
		if (cp >= 0xff01 && cp <= 0xff5e) /* fullwidth forms: "１００３" reads "1003" */
			cp -= 0xfee0;
		if (cp < 0x80) {
			ascii[0] = (cp < 0x20 || cp == 0x7f) ? ' ' : (char)cp;
			rep = ascii;
		} else if ((rep = fold_cp(cp, &letter)) == NULL) {
			if (len == cap)
				break;
			low[len] = letter;
			cased[len++] = ENT_FOLDED;
			continue;
		}
		size_t rl = strlen(rep);
		if (len + rl > cap)
			break;
		for (size_t k = 0; k < rl; k++, len++) {
			char c = rep[k];
			low[len] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
			cased[len] = c;
		}
	}

	/* Apostrophes between letters go; others become spaces. */
	size_t o = 0;
	for (size_t k = 0; k < len; k++) {
		char lc = low[k], cc = cased[k];
		if (lc == '\'' || lc == '`') {
			if (o > 0 && k + 1 < len && is_alnum(low[o - 1]) && is_alnum(low[k + 1]))
				continue;
			lc = cc = ' ';
		}
		low[o] = lc;
		cased[o++] = cc;
	}
	low[o] = cased[o] = '\0';
	return o;
}

/* ---- words ---------------------------------------------------------- */

/* Is w[0..wl) one of the '|'-separated words of alts? */
static int in_list(const char *w, size_t wl, const char *alts)
{
	for (;;) {
		const char *bar = strchr(alts, '|');
		size_t an = bar ? (size_t)(bar - alts) : strlen(alts);
		if (an == wl && memcmp(w, alts, wl) == 0)
			return 1;
		if (!bar)
			return 0;
		alts = bar + 1;
	}
}

static int is_one_of(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* The word ([a-z0-9]+) ending before low[pos], with only characters of skip
 * in between. Its start in *ws; returns its length, 0 when there is none. */
static size_t word_before(const char *low, size_t pos, const char *skip, size_t *ws)
{
	size_t k = pos;
	while (k > 0 && is_one_of(low[k - 1], skip))
		k--;
	size_t e = k;
	while (k > 0 && is_alnum(low[k - 1]))
		k--;
	*ws = k;
	return e - k;
}

/* The word starting after low[pos] past spaces; start in *ws, length returned. */
static size_t word_after(const char *low, size_t len, size_t pos, size_t *ws)
{
	size_t k = pos;
	while (k < len && low[k] == ' ')
		k++;
	*ws = k;
	while (k < len && is_alnum(low[k]))
		k++;
	return k - *ws;
}

/* ---- email ---------------------------------------------------------- */

static int local_char(char c) { return is_alnum(c) || is_one_of(c, "._%+-"); }
static int domain_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }

/* A host name of two or more labels with an alphabetic TLD of 2+ letters. */
static int domain_ok(const char *s, size_t n)
{
	size_t labels = 0, ll = 0, tld_alpha = 1;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (ll == 0 || ll > 63 || s[i - 1] == '-' || s[i - ll] == '-')
				return 0;
			labels++;
			if (i == n)
				break;
			ll = 0;
			tld_alpha = 1;
			continue;
		}
		if (!is_alpha(s[i]))
			tld_alpha = 0;
		ll++;
	}
	return labels >= 2 && ll >= 2 && tld_alpha;
}

/* The first well-formed address, lower-cased. Addresses with folded
 * non-ASCII letters are left alone rather than reported altered. */
static void scan_email(const char *low, const char *cased, size_t len, struct understanding *out)
{
	for (size_t at = 0; at < len; at++) {
		if (low[at] != '@')
			continue;
		size_t st = at;
		while (st > 0 && local_char(low[st - 1]))
			st--;
		while (st < at && low[st] == '.')
			st++;
		if (st == at || low[at - 1] == '.' || at - st > 64)
			continue;
		size_t e = at + 1;
		while (e < len && domain_char(low[e]))
			e++;
		while (e > at + 1 && (low[e - 1] == '.' || low[e - 1] == '-'))
			e--;
		if (!domain_ok(low + at + 1, e - at - 1) || e - st >= sizeof out->email)
			continue;
		if ((st > 0 && cased[st - 1] == ENT_FOLDED) || (e < len && cased[e] == ENT_FOLDED) ||
		    memchr(cased + st, ENT_FOLDED, e - st))
			continue;
		memcpy(out->email, low + st, e - st);
		out->email[e - st] = '\0';
		return;
	}
}

/* Is [st, e) inside something that looks like an email address? Looks at
 * most ENT_EMAIL_MAX bytes each way, so a long run of dots stays linear. */
static int in_email(const char *low, size_t len, size_t st, size_t e)
{
	size_t lim = st > ENT_EMAIL_MAX ? st - ENT_EMAIL_MAX : 0;

	while (st > lim && (local_char(low[st - 1]) || low[st - 1] == '@'))
		st--;
	lim = len - e > ENT_EMAIL_MAX ? e + ENT_EMAIL_MAX : len;
	while (e < lim && (local_char(low[e]) || low[e] == '@'))
		e++;
	return memchr(low + st, '@', e - st) != NULL;
}

/* ---- amounts -------------------------------------------------------- */

/* Currency words and codes: ISO code, "" when the currency is ambiguous. */
static const struct cur_word {
	const char *w;
	const char *cur;
	int prefix; /* may also stand before the number */
} cur_words[] = {
	{ "usd", "USD", 1 }, { "usdc", "USDC", 1 }, { "eur", "EUR", 1 }, { "brl", "BRL", 1 },
	{ "gbp", "GBP", 1 }, { "mxn", "MXN", 1 }, { "cad", "CAD", 1 }, { "aud", "AUD", 1 },
	{ "ars", "ARS", 1 }, { "clp", "CLP", 1 }, { "jpy", "JPY", 1 }, { "chf", "CHF", 1 },
	{ "krw", "KRW", 1 }, { "kwd", "KWD", 1 }, { "bhd", "BHD", 1 }, { "inr", "INR", 1 },
	{ "cny", "CNY", 1 }, { "uyu", "UYU", 1 }, { "pyg", "PYG", 1 }, { "sek", "SEK", 1 },
	{ "nok", "NOK", 1 }, { "dkk", "DKK", 1 }, { "pln", "PLN", 1 }, { "zar", "ZAR", 1 },
	{ "reais", "BRL", 0 }, { "real", "BRL", 0 }, { "dolares", "USD", 0 },
	{ "dolar", "USD", 0 }, { "dollars", "USD", 0 }, { "dollar", "USD", 0 },
	{ "bucks", "USD", 0 }, { "euros", "EUR", 0 }, { "euro", "EUR", 0 },
	{ "pesos", "", 0 }, { "peso", "", 0 },
};

/* Letters glued before '$': "" $, "r" R$, "us" US$… NULL when unknown. */
static const char *dollar_sign(const char *w, size_t wl)
{
	static const struct { const char *w, *cur; } signs[] = {
		{ "", "USD" }, { "r", "BRL" }, { "us", "USD" }, { "u", "USD" }, { "mx", "MXN" },
		{ "ca", "CAD" }, { "c", "CAD" }, { "au", "AUD" }, { "a", "AUD" },
	};
	for (size_t i = 0; i < RD_ARRAY_LEN(signs); i++)
		if (strlen(signs[i].w) == wl && memcmp(signs[i].w, w, wl) == 0)
			return signs[i].cur;
	return NULL;
}

static const char *cur_word(const char *w, size_t wl, int prefix)
{
	for (size_t i = 0; i < RD_ARRAY_LEN(cur_words); i++)
		if ((!prefix || cur_words[i].prefix) && strlen(cur_words[i].w) == wl &&
		    memcmp(cur_words[i].w, w, wl) == 0)
			return cur_words[i].cur;
	return NULL;
}

/* A currency marker right before low[st] ("R$ ", "US$", "u$s", "usd ",
 * "eur" from "€"): its code ("" for an unknown "xx$"), or NULL for none. */
static const char *cur_before(const char *low, size_t st)
{
	size_t k = st, ws;

	while (k > 0 && low[k - 1] == ' ')
		k--;
	if (k == 0)
		return NULL;
	if (low[k - 1] == 's' && k >= 3 && low[k - 2] == '$' && low[k - 3] == 'u' &&
	    (k == 3 || !is_alnum(low[k - 4])))
		return "USD"; /* u$s */
	if (low[k - 1] == '$') {
		ws = k - 1;
		while (ws > 0 && is_alpha(low[ws - 1]))
			ws--;
		const char *c = dollar_sign(low + ws, k - 1 - ws);
		return c ? c : "";
	}
	size_t wl = word_before(low, k, "", &ws);
	if (wl == 0 || (ws > 0 && low[ws - 1] == '_'))
		return NULL;
	return cur_word(low + ws, wl, 1);
}

/* A currency after the number ending at e ("49 usd", "186 reais", "49$",
 * "49usd"): its code, NULL for none. A '$' must touch the number. */
static const char *cur_after(const char *low, size_t len, size_t e)
{
	size_t k = e, ws;

	if (k < len && low[k] == '$') /* "49$", but not "order 8421 $50" */
		return k + 1 < len && is_digit(low[k + 1]) ? NULL : "USD";
	size_t wl = word_after(low, len, k, &ws);
	if (wl == 0 || (ws + wl < len && is_one_of(low[ws + wl], "_@")))
		return NULL;
	for (size_t i = 0; i < wl; i++)
		if (!is_alpha(low[ws + i]))
			return NULL;
	size_t next;
	if (word_after(low, len, ws + wl, &next) && is_digit(low[next]))
		return NULL; /* "8421 eur 12": the code belongs to the next number */
	return cur_word(low + ws, wl, 0);
}

/* s[0..n) ("1.234,56", "1,234.56", "12,50", "49.5", "186") in minor units
 * of a currency with exp decimals. One separator followed by exactly three
 * digits groups thousands; by one or two, marks decimals. -1 on bad
 * grouping, more decimals than the currency has, or overflow. */
static int parse_amount(const char *s, size_t n, int exp, int64_t *minor)
{
	size_t ndot = 0, ncomma = 0, last = 0, decpos = n;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' || s[i] == ',') {
			ndot += s[i] == '.';
			ncomma += s[i] == ',';
			last = i;
		}
	}
	if (ndot && ncomma) {
		if ((s[last] == '.' ? ndot : ncomma) != 1)
			return -1;
		decpos = last;
	} else if (ndot + ncomma == 1 && n - last - 1 <= 2) {
		decpos = last;
	} else if (ndot + ncomma == 1 && n - last - 1 != 3) {
		return -1;
	}

	int64_t whole = 0, frac = 0;
	size_t glen = 0;
	int grouped = 0;
	for (size_t i = 0; i < decpos; i++) {
		if (is_digit(s[i])) {
			if (whole > (INT64_MAX - 9) / 10)
				return -1;
			whole = whole * 10 + (s[i] - '0');
			glen++;
			continue;
		}
		if (glen == 0 || glen > 3 || (grouped && glen != 3))
			return -1;
		grouped = 1;
		glen = 0;
	}
	if (glen == 0 || (grouped && glen != 3))
		return -1;
	int nf = 0;
	for (size_t i = decpos + 1; i < n; i++) {
		if (++nf > exp)
			return -1;
		frac = frac * 10 + (s[i] - '0');
	}
	if (decpos < n && nf == 0)
		return -1;
	int64_t scale = 1;
	for (int i = 0; i < exp; i++)
		scale *= 10;
	for (; nf < exp; nf++)
		frac *= 10;
	if (whole > (INT64_MAX - frac) / scale)
		return -1;
	*minor = whole * scale + frac;
	return 0;
}

/* ---- numbers and order ids ------------------------------------------ */

struct found {
	int id_rank;    /* 2 marked or id-shaped, 1 bare number, 0 none yet */
	int amt_rank;   /* 2 with a currency marker, 1 a refund/payment number */
};

static void set_id(struct understanding *out, struct found *f, int rank, const char *s, size_t n)
{
	if (rank <= f->id_rank || n == 0 || n > ENT_ID_MAX)
		return;
	memcpy(out->order_id, s, n);
	out->order_id[n] = '\0';
	f->id_rank = rank;
}

static void set_amount(struct understanding *out, struct found *f, int rank, const char *cur,
		       const char *s, size_t n)
{
	int exp = cur[0] ? money_exponent(cur) : 2;
	int64_t minor;

	if (rank <= f->amt_rank || exp < 0 || parse_amount(s, n, exp, &minor) != 0)
		return;
	out->has_amount = 1;
	out->amount.minor = minor;
	snprintf(out->amount.cur, sizeof out->amount.cur, "%s", cur);
	f->amt_rank = rank;
}

/* Does an order word ("pedido", "order") come before low[st], perhaps with
 * fillers ("número do pedido 8421", "order no. 8421", "pedido é o 8421")? */
static int marked_order(const char *low, size_t st)
{
	size_t pos = st, ws;

	if (st > 0 && low[st - 1] == '#')
		return 1;
	for (int hop = 0; hop < ENT_MARK_HOPS; hop++) {
		size_t wl = word_before(low, pos, " #:.-", &ws);
		if (wl == 0)
			return 0;
		if (in_list(low + ws, wl, ORDER_WORDS))
			return 1;
		if (!in_list(low + ws, wl, ORDER_FILLER))
			return 0;
		pos = ws;
	}
	return 0;
}

/* Is the number [st, e) money the customer names without a currency:
 * "refund 500", "reembolso de 500"? Or "500 of it" when the message is
 * about money at all. */
static int refund_number(const char *low, size_t len, size_t st, size_t e, int money_ctx,
			 int after_refund_word)
{
	size_t ws, wl = word_before(low, st, " ", &ws), ns;
	int hop = 0;

	if (wl && (in_list(low + ws, wl, REFUND_HOP) ||
		   (after_refund_word && in_list(low + ws, wl, ARTICLES)))) {
		wl = word_before(low, ws, " ", &ws);
		hop = 1;
	}
	/* right after a refund word, a plain integer is the order ("refund
	 * 8421") unless a hop ("refund of 500") or a destination ("refund 25
	 * to …") says it is money */
	size_t nl = word_after(low, len, e, &ns);
	int dest = nl && in_list(low + ns, nl, "to|para|a|al|pra");
	if ((after_refund_word || hop || dest) && wl && in_list(low + ws, wl, REFUND_WORDS))
		return 1;
	if (!money_ctx)
		return 0;
	wl = word_after(low, len, e, &ws);
	if (!wl || !in_list(low + ws, wl, OF_WORDS))
		return 0;
	wl = word_after(low, len, ws + wl, &ws);
	return wl && in_list(low + ws, wl, OF_OBJECT);
}

/* A bare number that is part of a phone number or a list of numbers
 * ("555 123 4567"), or follows a word that says it is no order, perhaps
 * through fillers ("my phone number is 11987654321"). */
static int bare_excluded(const char *low, size_t len, size_t st, size_t e)
{
	size_t k = st, ws;

	while (k > 0 && low[k - 1] == ' ')
		k--;
	if (k > 0 && (is_digit(low[k - 1]) || low[k - 1] == ')'))
		return 1;
	k = e;
	while (k < len && low[k] == ' ')
		k++;
	if (k < len && (is_digit(low[k]) || low[k] == '('))
		return 1;
	size_t pos = st;
	for (int hop = 0; hop < ENT_MARK_HOPS; hop++) {
		size_t wl = word_before(low, pos, " :.", &ws);
		if (wl == 0)
			return 0;
		if (in_list(low + ws, wl, NOT_ORDER))
			return 1;
		if (!in_list(low + ws, wl, NOT_ORDER_HOP))
			return 0;
		pos = ws;
	}
	return 0;
}

/* One number [st, e) (digits, maybe with inner '.' / ','). */
static void number(const char *low, size_t len, size_t st, size_t e, int money_ctx,
		   struct understanding *out, struct found *f)
{
	size_t nd = e - st;
	int seps = memchr(low + st, '.', nd) || memchr(low + st, ',', nd);
	char pc = st > 0 ? low[st - 1] : ' ', nc = e < len ? low[e] : ' ';
	const char *cur;

	if (in_email(low, len, st, e))
		return;
	if (pc == '+' || pc == '_' ||
	    (is_one_of(pc, "-/:") && st >= 2 && is_digit(low[st - 2])) ||
	    (pc == '(' && nc == ')'))
		return; /* phone, date, time, or the tail of an id */
	if (is_one_of(nc, "%_") || (is_one_of(nc, "-/:") && e + 1 < len && is_digit(low[e + 1])))
		return;
	if (is_alpha(nc)) { /* "49usd" is money; "10am", "3x", "2nd" are not */
		size_t ws, wl = word_after(low, len, e, &ws);
		if ((cur = cur_word(low + ws, wl, 0)) != NULL)
			set_amount(out, f, 2, cur, low + st, nd);
		return;
	}
	if ((cur = cur_before(low, st)) != NULL || (cur = cur_after(low, len, e)) != NULL) {
		set_amount(out, f, 2, cur, low + st, nd);
		return; /* money, never an order id, even when it does not parse */
	}
	if (seps) {
		if (refund_number(low, len, st, e, money_ctx, 1))
			set_amount(out, f, 1, "", low + st, nd);
		return;
	}
	if (marked_order(low, st)) {
		if (nd >= ENT_BARE_MIN && nd <= ENT_MARKED_MAX)
			set_id(out, f, 2, low + st, nd);
		return;
	}
	/* "refund 8421" names the order; "refund 50 of it" an amount */
	if (refund_number(low, len, st, e, money_ctx, 0)) {
		set_amount(out, f, 1, "", low + st, nd);
		return;
	}
	if (nd >= ENT_BARE_MIN && nd <= ENT_BARE_MAX && !bare_excluded(low, len, st, e))
		set_id(out, f, 1, low + st, nd);
}

/* A word starting with a letter, [st, e) over [a-z0-9_-]: an id as written
 * when shaped like "ord_55419" / "ORD-2024-001", or like "BR123456" after
 * '#' or an order word. */
static void word_id(const char *low, const char *cased, size_t len, size_t st, size_t e,
		    struct understanding *out, struct found *f)
{
	size_t letters = 0, digits = 0, seps = 0;

	while (e > st && is_one_of(low[e - 1], "_-"))
		e--;
	while (st + letters < e && is_alpha(low[st + letters]))
		letters++;
	for (size_t k = st; k < e; k++) {
		digits += (size_t)is_digit(low[k]);
		seps += (size_t)is_one_of(low[k], "_-");
	}
	if (digits < ENT_ID_DIGITS || memchr(cased + st, ENT_FOLDED, e - st) ||
	    in_email(low, len, st, e))
		return;
	if (seps && letters <= 10 && is_one_of(low[st + letters], "_-"))
		set_id(out, f, 2, cased + st, e - st);
	else if (!seps && marked_order(low, st))
		set_id(out, f, 2, cased + st, e - st);
}

void nlu_scan_entities(const char *low, const char *cased, size_t len, int money_ctx,
		       struct understanding *out)
{
	struct found f = { 0, 0 };

	scan_email(low, cased, len, out);
	for (size_t i = 0; i < len;) {
		if (!is_alnum(low[i])) {
			i++;
			continue;
		}
		size_t st = i;
		int glued = st > 0 && is_one_of(low[st - 1], "_@");
		if (is_digit(low[i]) && !glued) {
			while (i < len && (is_digit(low[i]) ||
					   (is_one_of(low[i], ".,") && i + 1 < len && is_digit(low[i + 1]))))
				i++;
			if (i < len && (is_alpha(low[i]) || low[i] == '_') && !cur_after(low, len, i)) {
				while (i < len && (is_alnum(low[i]) || is_one_of(low[i], "_-")))
					i++; /* "123abc": neither a number nor an id */
				continue;
			}
			number(low, len, st, i, money_ctx, out, &f);
			continue;
		}
		while (i < len && (is_alnum(low[i]) || is_one_of(low[i], "_-")))
			i++;
		if (!glued && is_alpha(low[st]))
			word_id(low, cased, len, st, i, out, &f);
	}
}
