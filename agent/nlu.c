/* nlu.c — built-in understanding of one customer message (en, pt-BR, es),
 * the word-level half: words, phrase matching, language, intent, reason and
 * the injection / chargeback signals. The byte-level half, nlu_entities.c,
 * folds the UTF-8 text to ASCII and reads order ids, emails and amounts.
 *
 * Everything lives in one struct doc on the caller's stack (about 12 KiB): no
 * allocation, no globals that change, so nlu_understand() is thread-safe. */
#include "agent/nlu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define NLU_MAX_NORM  4096u /* bytes of folded text (input is cut at 4 KiB too) */
#define NLU_MAX_WORDS 1024u /* words kept; later ones are ignored */
#define NLU_MAX_PTOK  16u   /* tokens in one phrase pattern */
#define NLU_GAP       4u    /* words a bare ".." in a pattern may skip */
#define NLU_SHORT     6u    /* a bare yes / no has at most this many words */
#define NLU_ACCOUNT_DIGITS 5u /* digits in a word that names an account to pay to */

#include "agent/nlu_int.h"

struct word {
	uint16_t off, len; /* a run of [a-z0-9] in doc.low */
	uint8_t h;         /* word_hash() */
};

struct doc {
	char low[NLU_MAX_NORM + 1];   /* folded, lower-case ASCII */
	char cased[NLU_MAX_NORM + 1]; /* same bytes with ASCII case as written */
	size_t len;
	struct word w[NLU_MAX_WORDS];
	size_t nw;
	int question;                 /* a '?' somewhere */
	char lang[4];
};

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Bucket 0..127 of a word by its first two letters (a 1-letter word: by that). */
static unsigned word_hash(const char *w, size_t n)
{
	unsigned c1 = n > 1 ? (unsigned char)w[1] : 0u;
	return ((unsigned char)w[0] * 31u + c1 * 7u) & 127u;
}

/* Fold text into d->low / d->cased (see nlu_fold) and cut the words. */
static void doc_build(struct doc *d, const char *text)
{
	d->len = nlu_fold(text, d->low, d->cased, NLU_MAX_NORM);
	d->question = memchr(d->low, '?', d->len) != NULL;
	d->nw = 0;
	for (size_t k = 0; k < d->len && d->nw < NLU_MAX_WORDS;) {
		if (!is_lower_alnum(d->low[k])) {
			k++;
			continue;
		}
		/* an email or a link is an entity, not words: "alex@example.com"
		 * must not read as Portuguese because of "com" */
		size_t cs = k, ce = k;
		while (cs > 0 && d->low[cs - 1] != ' ')
			cs--;
		while (ce < d->len && d->low[ce] != ' ')
			ce++;
		if (memchr(d->low + cs, '@', ce - cs) || memmem(d->low + cs, ce - cs, "://", 3)) {
			k = ce;
			continue;
		}
		size_t st = k;
		while (k < d->len && is_lower_alnum(d->low[k]))
			k++;
		d->w[d->nw].off = (uint16_t)st;
		d->w[d->nw].len = (uint16_t)(k - st);
		d->w[d->nw].h = (uint8_t)word_hash(d->low + st, k - st);
		d->nw++;
	}
}

/* ---- phrase patterns -------------------------------------------------
 * A pattern is words separated by spaces, matched against whole words:
 *   a|b|c    one of these words;  ab*  any word starting with "ab"
 *   tok?     tok may be absent
 *   ..       skip 0..NLU_GAP words; ..2 skips 0..2 words
 *   $        end of the message
 * A leading "@es " restricts the pattern to messages detected as Spanish.
 *
 * Patterns are compiled once (pat_compile_all, on the first message): the
 * alternatives split, and a 128-bit mask of the hashes (word_hash) of the
 * words each token can match, so most words are turned away by one bit test
 * before any string is compared. A pattern string that is not in the
 * registry (nlu_phrases.h) is compiled on the caller's stack on each use:
 * same answer, slower (nlu_uncompiled counts those; a unit test keeps it 0). */

enum { PT_WORD, PT_GAP, PT_END };

#define NLU_MAX_ALTS  256u  /* alternatives in one pattern */
#define NLU_POOL_ALTS 4096u /* alternatives in every registered pattern */
#define NLU_POOL_PATS 512u  /* registered pattern strings */

struct alt {
	const char *s; /* not NUL-terminated */
	uint8_t n;
	uint8_t prefix; /* "ab*": s[0..n) is a prefix */
};

struct ptok {
	const struct alt *a;
	uint16_t na;
	uint8_t kind, opt, any; /* any: a 0/1-letter prefix, the mask cannot tell */
	uint8_t gap;
	uint64_t mask[2];
};

struct pat {
	const char *src;     /* the registered string (its address is the key) */
	char lang[3];        /* "" or the language gate */
	uint8_t nt;          /* 0: never matches */
	struct ptok t[NLU_MAX_PTOK];
};

static void mask_set(uint64_t *m, unsigned h)
{
	m[h >> 6] |= UINT64_C(1) << (h & 63);
}

/* Compile pattern src into *p, its alternatives into alts[0..cap).
 * Returns the alternatives used; p->nt = 0 when the pattern is too long. */
static size_t pat_compile(const char *src, struct pat *p, struct alt *alts, size_t cap)
{
	const char *s = src;
	size_t na = 0;

	memset(p, 0, sizeof *p);
	p->src = src;
	if (s[0] == '@' && s[1] && s[2]) {
		memcpy(p->lang, s + 1, 2);
		s += 3;
	}
	for (;;) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		const char *st = s;
		while (*s && *s != ' ')
			s++;
		size_t n = (size_t)(s - st);
		if (p->nt == NLU_MAX_PTOK)
			goto too_long;
		struct ptok *t = &p->t[p->nt++];
		t->kind = PT_WORD;
		if (n >= 2 && st[0] == '.' && st[1] == '.') {
			t->kind = PT_GAP;
			int digit = n == 3 && st[2] >= '0' && st[2] <= '9';
			t->gap = (uint8_t)(digit ? (unsigned)(st[2] - '0') : NLU_GAP);
			continue;
		}
		if (n == 1 && st[0] == '$') {
			t->kind = PT_END;
			continue;
		}
		if (st[n - 1] == '?') {
			t->opt = 1;
			n--;
		}
		t->a = alts + na;
		for (const char *q = st, *e = st + n; q <= e;) {
			const char *bar = memchr(q, '|', (size_t)(e - q));
			size_t an = bar ? (size_t)(bar - q) : (size_t)(e - q);
			if (na == cap || an > UINT8_MAX)
				goto too_long;
			struct alt *a = &alts[na++];
			*a = (struct alt){ .s = q, .n = (uint8_t)an };
			if (an > 0 && q[an - 1] == '*') {
				a->prefix = 1;
				a->n--;
			}
			if (a->prefix && a->n < 2)
				t->any = 1;
			else if (a->n > 0)
				mask_set(t->mask, word_hash(a->s, a->n));
			t->na++;
			q += an + 1;
		}
	}
	return na;
too_long:
	p->nt = 0; /* never matches (a test would notice) */
	return 0;
}

static struct {
	struct pat pats[NLU_POOL_PATS];
	struct alt alts[NLU_POOL_ALTS];
	const struct pat *slot[2 * NLU_POOL_PATS]; /* open addressing by address */
	size_t npats, nalts;
} reg;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static atomic_ulong uncompiled;

static size_t slot_of(const char *src)
{
	return ((uintptr_t)src >> 3) * UINT64_C(0x9E3779B97F4A7C15) >> 40 & (2 * NLU_POOL_PATS - 1);
}

static void reg_add(const char *src)
{
	size_t h = slot_of(src);
	while (reg.slot[h] && reg.slot[h]->src != src)
		h = (h + 1) & (2 * NLU_POOL_PATS - 1);
	if (reg.slot[h] || reg.npats == NLU_POOL_PATS)
		return; /* already there, or full: compiled on use */
	struct pat *p = &reg.pats[reg.npats];
	size_t used = pat_compile(src, p, reg.alts + reg.nalts, NLU_POOL_ALTS - reg.nalts);
	if (p->nt == 0 && *src)
		return;
	reg.npats++;
	reg.nalts += used;
	reg.slot[h] = p;
}

static void pat_compile_all(void);

/* The compiled form of src: the registered one, or *tmp compiled now. */
static const struct pat *pat_get(const char *src, struct pat *tmp, struct alt *alts)
{
	pthread_once(&reg_once, pat_compile_all);
	for (size_t h = slot_of(src); reg.slot[h]; h = (h + 1) & (2 * NLU_POOL_PATS - 1))
		if (reg.slot[h]->src == src)
			return reg.slot[h];
	atomic_fetch_add_explicit(&uncompiled, 1, memory_order_relaxed);
	pat_compile(src, tmp, alts, NLU_MAX_ALTS);
	return tmp;
}

/* Is word wi one of token t's alternatives? */
static int word_is(const struct doc *d, size_t wi, const struct ptok *t)
{
	const struct word *w = &d->w[wi];

	if (!t->any && !(t->mask[w->h >> 6] >> (w->h & 63) & 1))
		return 0;
	const char *s = d->low + w->off;
	for (size_t k = 0; k < t->na; k++) {
		const struct alt *a = &t->a[k];
		if (a->prefix ? w->len >= a->n && memcmp(s, a->s, a->n) == 0
			      : w->len == a->n && memcmp(s, a->s, a->n) == 0)
			return 1;
	}
	return 0;
}

/* Match tokens pt[pi..np) at word wi; one past the last word matched in *end. */
static int match_from(const struct doc *d, const struct ptok *pt, size_t np, size_t pi,
		      size_t wi, size_t *end)
{
	if (pi == np) {
		*end = wi;
		return 1;
	}
	const struct ptok *t = &pt[pi];
	switch (t->kind) {
	case PT_END:
		return wi == d->nw && match_from(d, pt, np, pi + 1, wi, end);
	case PT_GAP:
		for (size_t k = 0; k <= t->gap && wi + k <= d->nw; k++)
			if (match_from(d, pt, np, pi + 1, wi + k, end))
				return 1;
		return 0;
	default:
		if (wi < d->nw && word_is(d, wi, t) && match_from(d, pt, np, pi + 1, wi + 1, end))
			return 1;
		return t->opt && match_from(d, pt, np, pi + 1, wi, end);
	}
}

/* First match of pattern src starting at word `from` or later: its words
 * are [*at, *end). 0 when none (or the pattern's language gate is closed). */
static int find_phrase(const struct doc *d, const char *src, size_t from, size_t *at,
		       size_t *end)
{
	struct pat tmp;
	struct alt alts[NLU_MAX_ALTS];
	const struct pat *p = pat_get(src, &tmp, alts);

	if (p->nt == 0)
		return 0;
	if (p->lang[0] && (d->lang[0] == '\0' || memcmp(p->lang, d->lang, 2) != 0))
		return 0;
	for (size_t wi = from; wi < d->nw; wi++)
		if (match_from(d, p->t, p->nt, 0, wi, end)) {
			*at = wi;
			return 1;
		}
	return 0;
}

static int has_phrase(const struct doc *d, const char *pat)
{
	size_t at, end;
	return find_phrase(d, pat, 0, &at, &end);
}

/* Does any pattern of a NULL-terminated list match? */
static int any_phrase(const struct doc *d, const char *const *pats)
{
	for (; *pats; pats++)
		if (has_phrase(d, *pats))
			return 1;
	return 0;
}

/* Does word wi (if it exists) match alternatives alts (a one-word pattern)? */
static int word_at_is(const struct doc *d, size_t wi, const char *alts)
{
	if (wi >= d->nw)
		return 0;
	struct pat tmp;
	struct alt pool[NLU_MAX_ALTS];
	const struct pat *p = pat_get(alts, &tmp, pool);
	return p->nt == 1 && p->t[0].kind == PT_WORD && word_is(d, wi, &p->t[0]);
}

/* ---- language ------------------------------------------------------- */

/* Words that tell a language: 2 points for a word of one language only, 1
 * for each language of a word two of them share. */
static const char lang_en[] =
	"my|the|i|is|it|to|and|order|refund|want|please|hi|hello|hey|thanks|thank|you|yes|where|"
	"didnt|dont|arrived|broken|wrong|received|back|with|this|that|have|has|not|never|can|get|"
	"need|help|what|your|money|item|did|was|for|of|human|good|morning|on|will|ill|im|be|are|if|"
	"just|still|yet|about|from|at|but|they|we|got|there|would|should|could|when|how|why|its|yep|"
	"yeah|sure|go|ahead|fine|thats|confirm|cancel|hiya|thx|cheers|mate|representative|pls|plz|guys";
static const char lang_pt[] =
	"meu|minha|meus|minhas|nao|quero|obrigado|obrigada|voce|vc|chegou|dinheiro|um|do|da|com|eu|"
	"sim|oi|ola|bom|boa|estorno|devolucao|ainda|recebi|quebrado|quebrada|veio|errado|cade|pra|"
	"ja|tem|isso|pode|preciso|atendente|valeu|produto|mais|seu|sua|falar|foi|tudo|uma|mas|"
	"quando|vou|estou|agora|sem|muito|ate|ta|obg|esse|essa|fazer|tenho|queria|pfv|arrependi|deixa|"
	"nem|nops|uhum|ss|brigadao|voces|entregam|aceitam|comprei|ontem|atendimento|faltou|mandaram";
static const char lang_es[] =
	"mi|mis|quiero|gracias|llego|dinero|usted|devolucion|hola|el|la|los|las|un|una|con|"
	"necesito|ayuda|buenos|buenas|roto|equivocado|recibi|todavia|ya|reembolsar|orden|tengo|es|"
	"del|lo|hablar|persona|dale|donde|cuando|muchas|pero|producto|su|tu|voy|estoy|ahora|sin|"
	"muy|hasta|mucho|hay|puedo|puede|le|este|esto|quisiera|llegado|al|ahorita|nel|ninguna|manera|asi|"
	"dejalo|holaa|hacen|envios|tienen|tienda|fisica|sip|va|hazlo|mejor|adelante|perfecto|bien|porfa|"
	"compre|llega|talla|pieza";
static const char lang_en_es[] = "no";
static const char lang_pt_only[] = "e|o";
static const char lang_es_only[] = "si";
static const char lang_pt_es[] = "pedido|reembolso|esta|que|de|para|por|favor|nunca|porque|como|"
	"cancela|cancelar|devolver|claro|pedi|humano|falta|confirmo";

/* "en", "pt" or "es" by the highest score; "" with no clue or a tie. */
static void detect_lang(struct doc *d)
{
	static const struct {
		const char *words;
		unsigned en, pt, es;
	} lists[] = {
		{ lang_en, 2, 0, 0 }, { lang_pt, 0, 2, 0 }, { lang_es, 0, 0, 2 },
		{ lang_pt_es, 0, 1, 1 }, { lang_en_es, 1, 0, 1 }, { lang_pt_only, 0, 1, 0 },
		{ lang_es_only, 0, 0, 1 },
	};
	unsigned en = 0, pt = 0, es = 0;

	for (size_t wi = 0; wi < d->nw; wi++)
		for (size_t k = 0; k < RD_ARRAY_LEN(lists); k++)
			if (word_at_is(d, wi, lists[k].words)) {
				en += lists[k].en;
				pt += lists[k].pt;
				es += lists[k].es;
				break;
			}
	memset(d->lang, 0, sizeof d->lang);
	if (en > pt && en > es)
		memcpy(d->lang, "en", 3);
	else if (pt > en && pt > es)
		memcpy(d->lang, "pt", 3);
	else if (es > en && es > pt)
		memcpy(d->lang, "es", 3);
}

#include "agent/nlu_phrases.h"

static void pat_compile_all(void)
{
	static const char *const lang_words[] = { lang_en, lang_pt, lang_es, lang_pt_es,
						  lang_en_es, lang_pt_only, lang_es_only };

	for (size_t k = 0; k < RD_ARRAY_LEN(lang_words); k++)
		reg_add(lang_words[k]);
	for (size_t k = 0; k < RD_ARRAY_LEN(phrase_words); k++)
		reg_add(phrase_words[k]);
	for (size_t k = 0; k < RD_ARRAY_LEN(phrase_lists); k++)
		for (const char *const *p = phrase_lists[k]; *p; p++)
			reg_add(*p);
}

unsigned long nlu_uncompiled(void)
{
	return atomic_load_explicit(&uncompiled, memory_order_relaxed);
}

/* ---- classification ------------------------------------------------- */

/* No punctuation between words a < b? */
static int same_clause(const struct doc *d, size_t a, size_t b)
{
	for (size_t c = d->w[a].off + d->w[a].len; c < d->w[b].off; c++)
		if (memchr(".,;!?", d->low[c], 5))
			return 0;
	return 1;
}

/* Is there a match of one of pats without any of the words `before` among
 * the nback words in front of it, in the same clause? "my refund never
 * arrived" is no parcel gone missing, "boa tarde" no late delivery; but in
 * "devolver el dinero? el paquete nunca llegó" the parcel is missing. */
static int match_clear_of(const struct doc *d, const char *const *pats, const char *before,
			  size_t nback)
{
	for (; *pats; pats++) {
		size_t from = 0, at, end;
		while (find_phrase(d, *pats, from, &at, &end)) {
			int seen = 0;
			for (size_t k = at >= nback ? at - nback : 0; k < at; k++)
				seen |= word_at_is(d, k, before) && same_clause(d, k, at);
			if (!seen)
				return 1;
			from = at + 1;
		}
	}
	return 0;
}

/* The most actionable reason named; REASON_NONE when none. */
static enum reason find_reason(const struct doc *d)
{
	if (any_phrase(d, damaged_pats))
		return REASON_DAMAGED;
	if (any_phrase(d, wrong_item_pats))
		return REASON_WRONG_ITEM;
	if (any_phrase(d, not_described_pats))
		return REASON_NOT_AS_DESCRIBED;
	if (any_phrase(d, late_pats))
		return REASON_LATE;
	if (match_clear_of(d, missing_pats, money_words, 3))
		return REASON_MISSING;
	if (match_clear_of(d, tarde_pats, not_late_tarde, 1))
		return REASON_LATE;
	if (any_phrase(d, changed_mind_pats))
		return REASON_CHANGED_MIND;
	return REASON_NONE;
}

/* How many digits word wi holds. */
static size_t word_digits(const struct doc *d, size_t wi)
{
	size_t n = 0;
	for (size_t c = 0; c < d->w[wi].len; c++)
		n += d->low[d->w[wi].off + c] >= '0' && d->low[d->w[wi].off + c] <= '9';
	return n;
}

/* A payout destination the customer names: a kind of account ("to my
 * wallet", unless it is the original one: "to the same card") or an account
 * number ("transfer it to 12345-6"). */
static int destination_named(const struct doc *d)
{
	size_t from = 0, at, end;

	while (find_phrase(d, dest_pat, from, &at, &end)) {
		int original = 0;
		for (size_t k = end >= 4 ? end - 4 : 0; k + 1 < end; k++)
			original |= word_at_is(d, k, original_words);
		if (!original)
			return 1;
		from = at + 1;
	}
	for (from = 0; find_phrase(d, transfer_pat, from, &at, &end); from = at + 1)
		for (size_t k = end; k < end + 2 && k < d->nw; k++)
			if (word_digits(d, k) >= NLU_ACCOUNT_DIGITS)
				return 1;
	/* an account named by its number, whatever the verb: "account
	 * 12345678", "cuenta ES9121000418450200051332", "conta 123456-7" */
	for (size_t k = 0; k + 1 < d->nw; k++)
		if (word_at_is(d, k, account_words))
			for (size_t j = k + 1; j < k + 4 && j < d->nw; j++)
				if (word_digits(d, j) >= NLU_ACCOUNT_DIGITS)
					return 1;
	return 0;
}

enum { COV_OVER = 1, COV_YES = 2, COV_ACK = 4, COV_NO = 8, COV_ABBR = 16 };

/* Mark in cov[] (one per word) the words of every match of pats with bit,
 * skipping matches that overlap words already marked with any of skip.
 * Returns 1 when something was marked. */
static int cover(const struct doc *d, const char *const *pats, uint8_t *cov, uint8_t bit,
		 uint8_t skip)
{
	int hit = 0;

	for (; *pats; pats++) {
		size_t from = 0, at, end;
		while (find_phrase(d, *pats, from, &at, &end)) {
			int clash = 0;
			for (size_t k = at; k < end; k++)
				clash |= (cov[k] & skip) != 0;
			if (!clash && end > at) {
				for (size_t k = at; k < end; k++)
					cov[k] |= bit;
				hit = 1;
			}
			from = at + 1;
		}
	}
	return hit;
}

/* A short reply to a question: YES, NO, THANKS ("ok, thanks") or OTHER.
 * Every word must be part of the answer or a filler, but one unknown word
 * is forgiven ("sim moça", "no way"): "not sure what to do" stays OTHER. */
static enum intent short_answer(const struct doc *d)
{
	uint8_t cov[NLU_SHORT] = { 0 };

	if (d->nw == 0 || d->nw > NLU_SHORT)
		return INTENT_OTHER;
	if (d->nw == 1 && word_at_is(d, 0, yes_letter))
		return INTENT_YES;
	if (d->nw == 1 && word_at_is(d, 0, no_letter))
		return INTENT_NO;
	int over = cover(d, yes_over_no_pats, cov, COV_OVER, 0);
	int yes = cover(d, yes_pats, cov, COV_YES, 0) | cover(d, confirm_pats, cov, COV_YES, 0);
	int ack = cover(d, ack_pats, cov, COV_ACK, 0);
	cover(d, abbrev_pats, cov, COV_ABBR, 0);
	int no = cover(d, no_pats, cov, COV_NO, COV_OVER | COV_ABBR);
	unsigned unknown = 0;
	for (size_t k = 0; k < d->nw; k++) /* an order number is no change of subject */
		if (!cov[k] && !word_at_is(d, k, filler_words) && !word_digits(d, k))
			unknown++;
	if (no && unknown <= 1)
		return INTENT_NO;
	if ((over || yes || ack) && unknown <= 1 && (!d->question || over)) {
		if (!over && !yes && any_phrase(d, thanks_pats))
			return INTENT_THANKS;
		return INTENT_YES;
	}
	return INTENT_OTHER;
}

static enum intent classify(const struct doc *d, enum reason r)
{
	if (any_phrase(d, human_pats))
		return INTENT_HUMAN;
	if (any_phrase(d, status_pats) || (d->nw <= NLU_SHORT && any_phrase(d, short_status_pats)))
		return INTENT_STATUS;
	if (any_phrase(d, refund_no_pats))
		return INTENT_NO;
	if (any_phrase(d, confirm_pats) && short_answer(d) == INTENT_YES)
		return INTENT_YES;
	if (!any_phrase(d, refund_not_pats) &&
	    (any_phrase(d, refund_pats) || r == REASON_DAMAGED || r == REASON_WRONG_ITEM ||
	     r == REASON_NOT_AS_DESCRIBED || r == REASON_MISSING ||
	     (r == REASON_LATE && match_clear_of(d, missing_pats, money_words, 3))))
		return INTENT_REFUND;
	enum intent a = short_answer(d);
	if (a != INTENT_OTHER)
		return a;
	if (any_phrase(d, thanks_pats))
		return INTENT_THANKS;
	if (r == REASON_NONE && any_phrase(d, greeting_pats))
		return INTENT_GREETING; /* "boa tarde, chegou atrasado" says more */
	return INTENT_OTHER;
}

void nlu_understand(const char *text, struct understanding *out)
{
	struct doc d;

	memset(out, 0, sizeof *out);
	doc_build(&d, text ? text : "");
	detect_lang(&d);
	memcpy(out->lang, d.lang, sizeof out->lang);
	out->reason = find_reason(&d);
	out->intent = classify(&d, out->reason);
	out->injection = any_phrase(&d, injection_pats) || destination_named(&d) ||
			 nlu_spoofed(text ? text : "", NLU_MAX_NORM);
	out->chargeback_threat = any_phrase(&d, chargeback_pats);
	int money_ctx = out->intent == INTENT_STATUS || any_phrase(&d, refund_pats) ||
			any_phrase(&d, refund_no_pats) || has_phrase(&d, payment_pat);
	nlu_scan_entities(d.low, d.cased, d.len, money_ctx, out);
}

const char *intent_name(enum intent i)
{
	static const char *const names[] = {
		[INTENT_OTHER] = "other", [INTENT_REFUND] = "refund_request",
		[INTENT_STATUS] = "refund_status", [INTENT_HUMAN] = "human", [INTENT_YES] = "yes",
		[INTENT_NO] = "no", [INTENT_GREETING] = "greeting", [INTENT_THANKS] = "thanks",
	};
	return (unsigned)i < RD_ARRAY_LEN(names) ? names[i] : "other";
}

const char *reason_name(enum reason r)
{
	static const char *const names[] = {
		[REASON_NONE] = "", [REASON_DAMAGED] = "damaged", [REASON_WRONG_ITEM] = "wrong_item",
		[REASON_NOT_AS_DESCRIBED] = "not_as_described", [REASON_LATE] = "late",
		[REASON_MISSING] = "missing", [REASON_CHANGED_MIND] = "changed_mind",
	};
	return (unsigned)r < RD_ARRAY_LEN(names) ? names[r] : "";
}
