/* eval.c — `make eval`: the labelled corpus through the understanding layer.
 *
 *   eval [--dir tests/eval] [--config config.ini] [--no-llm] [--no-write]
 *        [--errors tune|heldout] [--set-floor] [--threads N]
 *
 * Reads DIR/tune.jsonl and DIR/heldout.jsonl (one utterance a line:
 * {"id","lang","text","intent","order_id","email","amount","currency",
 * "reason"[,"lang_any"]}), runs every utterance through the built-in
 * understanding (nlu_understand) and, when [llm] is enabled in the config,
 * through the LLM backend as the agent uses it (llm_understand, an order id
 * or email the text does not have dropped as an attempt, then llm_merge
 * with the built-in result; a failed call falls back to the built-in
 * result, as in a conversation; the amount check against the order is
 * left out: there are no orders here). Prints and writes DIR/RESULTS.md:
 * per-language accuracy of intent, language and each entity, and the intent
 * confusion, for both splits.
 *
 * RESULTS.md keeps the floor of the built-in layer, one line per split:
 *   floor builtin tune intent=0.950 language=0.970 order_id=… email=… amount=… reason=…
 * The run fails (exit 1) when a built-in figure falls below its floor. The
 * floor is written only by --set-floor (the figures of this run, rounded
 * down), so an ordinary run never moves it. Exit 2 on usage or I/O errors.
 *
 * The held-out split is for reporting only: tune the built-in layer on
 * tune.jsonl (--errors tune lists what it gets wrong), never on heldout. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/llm.h"
#include "agent/nlu.h"
#include "common/money.h"
#include "common/util.h"
#include "gateway/config.h"

#define MAX_ITEMS 2000
#define N_LANGS 3
#define N_INTENTS 8
#define FLOOR_EPS 1e-9

enum field { F_INTENT, F_LANG, F_ORDER, F_EMAIL, F_AMOUNT, F_REASON, F__COUNT };
static const char *const field_key[F__COUNT] = { "intent", "language", "order_id", "email",
						 "amount", "reason" };
static const char *const field_title[F__COUNT] = { "intent", "language", "order id", "email",
						   "amount + currency", "reason" };
static const char *const langs[N_LANGS] = { "en", "pt", "es" };
static const char *const lang_title[N_LANGS] = { "English", "Portuguese (BR)", "Spanish" };

struct item {
	char id[32];
	int lang;           /* index in langs */
	int lang_any;       /* no language can be told: not counted for language */
	char *text;         /* owned */
	enum intent intent;
	char order_id[64];
	char email[256];
	int has_amount;
	struct money amount; /* cur "" when the text names none (2 decimals assumed) */
	enum reason reason;
};

struct split {
	const char *name;   /* "tune" | "heldout" */
	struct item *items;
	size_t n;
};

struct score {
	unsigned n[N_LANGS + 1][F__COUNT];   /* [N_LANGS] = all languages */
	unsigned ok[N_LANGS + 1][F__COUNT];
	unsigned confusion[N_INTENTS][N_INTENTS]; /* [expected][predicted] */
	unsigned fallbacks;                  /* LLM: calls that fell back */
	long long tokens_in, tokens_out, latency_ms;
};

struct backend {
	const char *name;   /* "builtin" | "llm" */
	struct llm *llm;    /* NULL: built-in only */
};

static enum intent intent_from(const char *s)
{
	for (int i = 0; i < N_INTENTS; i++)
		if (strcmp(intent_name((enum intent)i), s) == 0)
			return (enum intent)i;
	return (enum intent)-1;
}

static int reason_from(const char *s, enum reason *out)
{
	for (int r = REASON_NONE; r <= REASON_CHANGED_MIND; r++)
		if (strcmp(reason_name((enum reason)r), s) == 0) {
			*out = (enum reason)r;
			return 0;
		}
	return -1;
}

static const char *str_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One corpus line into it; a reason in err on a bad line. */
static int parse_item(json_t *o, struct item *it, char *err, size_t n)
{
	static const char *const keys[] = { "id", "lang", "text", "intent", "order_id", "email",
					    "amount", "currency", "reason" };
	const char *v[RD_ARRAY_LEN(keys)];
	for (size_t i = 0; i < RD_ARRAY_LEN(keys); i++)
		if (!(v[i] = str_field(o, keys[i]))) {
			snprintf(err, n, "\"%s\": expected a string", keys[i]);
			return -1;
		}
	memset(it, 0, sizeof *it);
	snprintf(it->id, sizeof it->id, "%s", v[0]);
	it->lang = -1;
	for (int l = 0; l < N_LANGS; l++)
		if (strcmp(v[1], langs[l]) == 0)
			it->lang = l;
	it->intent = intent_from(v[3]);
	if (it->lang < 0 || (int)it->intent < 0 || reason_from(v[8], &it->reason) != 0) {
		snprintf(err, n, "unknown lang, intent or reason");
		return -1;
	}
	it->lang_any = json_is_true(json_object_get(o, "lang_any"));
	snprintf(it->order_id, sizeof it->order_id, "%s", v[4]);
	snprintf(it->email, sizeof it->email, "%s", v[5]);
	if (v[6][0]) {
		char buf[64];
		snprintf(buf, sizeof buf, "%s %s", v[7][0] ? v[7] : "USD", v[6]);
		if (money_parse(buf, &it->amount) != RD_OK) {
			snprintf(err, n, "amount \"%s\" \"%s\": expected a decimal", v[6], v[7]);
			return -1;
		}
		snprintf(it->amount.cur, sizeof it->amount.cur, "%s", v[7]);
		it->has_amount = 1;
	}
	if (!(it->text = strdup(v[2]))) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	return 0;
}

static int load_split(const char *dir, const char *name, struct split *s)
{
	char path[512], line[8192], err[200];
	snprintf(path, sizeof path, "%s/%s.jsonl", dir, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return -1;
	}
	s->name = name;
	s->items = calloc(MAX_ITEMS, sizeof *s->items);
	s->n = 0;
	int rc = s->items ? 0 : -1;
	for (int ln = 1; rc == 0 && fgets(line, sizeof line, f); ln++) {
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		json_error_t je;
		json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &je);
		if (!o || !json_is_object(o)) {
			fprintf(stderr, "%s:%d: %s\n", path, ln, o ? "expected an object" : je.text);
			rc = -1;
		} else if (s->n == MAX_ITEMS) {
			fprintf(stderr, "%s:%d: more than %d utterances\n", path, ln, MAX_ITEMS);
			rc = -1;
		} else if (parse_item(o, &s->items[s->n], err, sizeof err) != 0) {
			fprintf(stderr, "%s:%d: %s\n", path, ln, err);
			rc = -1;
		} else {
			s->n++;
		}
		json_decref(o);
	}
	fclose(f);
	return rc;
}

/* ---- running ---------------------------------------------------------- */

struct job {
	const struct backend *be;
	const struct split *s;
	struct understanding *pred;   /* one per item */
	struct llm_result *res;       /* LLM: per item */
	enum llm_outcome *outcome;
	size_t next;
	pthread_mutex_t mu;
};

static void predict(const struct backend *be, const struct item *it, struct understanding *u,
		    struct llm_result *r, enum llm_outcome *oc)
{
	nlu_understand(it->text, u);
	if (!be->llm)
		return;
	struct llm_input in = { .text = it->text, .state = "idle" };
	*oc = llm_understand(be->llm, &in, r);
	/* as the agent does: an order id or email the customer did not write is an attempt */
	if (*oc == LLM_OK && ((r->u.order_id[0] && !llm_mentions(it->text, r->u.order_id)) ||
			      (r->u.email[0] && !llm_mentions(it->text, r->u.email))))
		*oc = LLM_ATTEMPT;
	if (*oc == LLM_OK) {
		struct understanding b = *u;
		llm_merge(&b, r, u);
	}
}

static void *worker(void *arg)
{
	struct job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		size_t i = j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->s->n)
			return NULL;
		predict(j->be, &j->s->items[i], &j->pred[i], &j->res[i], &j->outcome[i]);
	}
}

static int field_ok(const struct item *it, const struct understanding *u, enum field f)
{
	switch (f) {
	case F_INTENT: return u->intent == it->intent;
	case F_LANG: return strcmp(u->lang, langs[it->lang]) == 0;
	case F_ORDER: return strcmp(u->order_id, it->order_id) == 0;
	case F_EMAIL: return strcmp(u->email, it->email) == 0;
	case F_AMOUNT:
		if (!it->has_amount || !u->has_amount)
			return it->has_amount == u->has_amount;
		return u->amount.minor == it->amount.minor && strcmp(u->amount.cur, it->amount.cur) == 0;
	case F_REASON: return u->reason == it->reason;
	default: return 0;
	}
}

static void show_value(const struct understanding *u, const struct item *it, enum field f,
		       int expected, char *buf, size_t n)
{
	char dec[48];
	switch (f) {
	case F_INTENT: snprintf(buf, n, "%s", intent_name(expected ? it->intent : u->intent)); break;
	case F_LANG: snprintf(buf, n, "%s", expected ? langs[it->lang] : u->lang); break;
	case F_ORDER: snprintf(buf, n, "%s", expected ? it->order_id : u->order_id); break;
	case F_EMAIL: snprintf(buf, n, "%s", expected ? it->email : u->email); break;
	case F_AMOUNT: {
		int has = expected ? it->has_amount : u->has_amount;
		const struct money *m = expected ? &it->amount : &u->amount;
		if (!has || money_decimal(m->minor, m->cur[0] ? m->cur : "USD", dec, sizeof dec) != RD_OK)
			snprintf(buf, n, "%s", has ? "?" : "");
		else
			snprintf(buf, n, "%s %s", dec, m->cur);
		break;
	}
	case F_REASON: snprintf(buf, n, "%s", reason_name(expected ? it->reason : u->reason)); break;
	default: buf[0] = '\0';
	}
}

static void run(const struct backend *be, const struct split *s, int threads, int show_errors,
		struct score *sc)
{
	struct job j = { .be = be, .s = s, .mu = PTHREAD_MUTEX_INITIALIZER };
	j.pred = calloc(s->n, sizeof *j.pred);
	j.res = calloc(s->n, sizeof *j.res);
	j.outcome = calloc(s->n, sizeof *j.outcome);
	memset(sc, 0, sizeof *sc);
	if (!j.pred || !j.res || !j.outcome) {
		fprintf(stderr, "eval: out of memory\n");
		exit(2);
	}
	if (!be->llm || threads <= 1) {
		worker(&j);
	} else {
		pthread_t tid[16];
		int nt = threads > 16 ? 16 : threads;
		for (int t = 0; t < nt; t++)
			pthread_create(&tid[t], NULL, worker, &j);
		for (int t = 0; t < nt; t++)
			pthread_join(tid[t], NULL);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];
		const struct understanding *u = &j.pred[i];
		for (int f = 0; f < F__COUNT; f++) {
			if (f == F_LANG && it->lang_any)
				continue;
			int ok = field_ok(it, u, (enum field)f);
			for (int l = 0; l < 2; l++) {
				int li = l ? N_LANGS : it->lang;
				sc->n[li][f]++;
				sc->ok[li][f] += (unsigned)ok;
			}
			if (!ok && show_errors) {
				char e[300], g[300];
				show_value(u, it, (enum field)f, 1, e, sizeof e);
				show_value(u, it, (enum field)f, 0, g, sizeof g);
				printf("%-8s %-9s expected \"%s\", got \"%s\": %s\n", it->id, field_key[f], e, g,
				       it->text);
			}
		}
		if ((unsigned)u->intent < N_INTENTS)
			sc->confusion[it->intent][u->intent]++;
		if (be->llm) {
			sc->fallbacks += j.outcome[i] != LLM_OK;
			sc->tokens_in += j.res[i].prompt_tokens;
			sc->tokens_out += j.res[i].completion_tokens;
			sc->latency_ms += j.res[i].latency_ms;
		}
	}
	free(j.pred);
	free(j.res);
	free(j.outcome);
}

static double acc(const struct score *sc, int li, int f)
{
	return sc->n[li][f] ? (double)sc->ok[li][f] / sc->n[li][f] : 1.0;
}

/* ---- floor ------------------------------------------------------------- */

struct floor {
	int set[2];
	double v[2][F__COUNT]; /* [tune, heldout] */
};

static int split_index(const char *name)
{
	return strcmp(name, "tune") == 0 ? 0 : strcmp(name, "heldout") == 0 ? 1 : -1;
}

/* "floor builtin tune intent=0.950 …" lines of an existing RESULTS.md. */
static void read_floor(const char *path, struct floor *fl)
{
	char line[1024];
	memset(fl, 0, sizeof *fl);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char split[16];
		int used = 0;
		if (sscanf(line, "floor builtin %15s %n", split, &used) != 1 || split_index(split) < 0)
			continue;
		int si = split_index(split);
		fl->set[si] = 1;
		for (char *tok = strtok(line + used, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
			char *eq = strchr(tok, '=');
			if (!eq)
				continue;
			*eq = '\0';
			for (int k = 0; k < F__COUNT; k++)
				if (strcmp(tok, field_key[k]) == 0)
					fl->v[si][k] = strtod(eq + 1, NULL);
		}
	}
	fclose(f);
}

/* ---- report ------------------------------------------------------------ */

static void pct(FILE *f, const struct score *sc, int li, int fld)
{
	if (!sc->n[li][fld])
		fprintf(f, " — |");
	else
		fprintf(f, " %.1f%% |", 100.0 * acc(sc, li, fld));
}

static void table(FILE *f, const struct score *sc)
{
	fprintf(f, "| language | n |");
	for (int k = 0; k < F__COUNT; k++)
		fprintf(f, " %s |", field_title[k]);
	fprintf(f, "\n|---|---:|");
	for (int k = 0; k < F__COUNT; k++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (int li = 0; li <= N_LANGS; li++) {
		fprintf(f, "| %s | %u |", li < N_LANGS ? lang_title[li] : "**all**", sc->n[li][F_INTENT]);
		for (int k = 0; k < F__COUNT; k++)
			pct(f, sc, li, k);
		fprintf(f, "\n");
	}
}

static void confusion(FILE *f, const struct score *sc)
{
	fprintf(f, "\nIntent confusion (rows: labelled, columns: understood):\n\n| |");
	for (int p = 0; p < N_INTENTS; p++)
		fprintf(f, " %s |", intent_name((enum intent)p));
	fprintf(f, "\n|---|");
	for (int p = 0; p < N_INTENTS; p++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (int e = 0; e < N_INTENTS; e++) {
		fprintf(f, "| **%s** |", intent_name((enum intent)e));
		for (int p = 0; p < N_INTENTS; p++)
			fprintf(f, sc->confusion[e][p] ? (e == p ? " **%u** |" : " %u |") : " · |",
				sc->confusion[e][p]);
		fprintf(f, "\n");
	}
}

static void floor_line(FILE *f, const char *split, const double *v)
{
	fprintf(f, "floor builtin %s", split);
	for (int k = 0; k < F__COUNT; k++)
		fprintf(f, " %s=%.3f", field_key[k], v[k]);
	fprintf(f, "\n");
}

static void write_results(FILE *f, const struct split *sp, const struct score sc[][2],
			  size_t n_be, const struct backend *be, const struct floor *fl,
			  const char *llm_desc)
{
	unsigned per_lang[N_LANGS] = { 0 };
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < sp[s].n; i++)
			per_lang[sp[s].items[i].lang]++;
	fprintf(f, "# Understanding: measured\n\n"
		   "Written by `make eval` (tests/eval/eval.c); do not edit by hand, except the\n"
		   "floor, which `make eval EVAL_ARGS=--set-floor` rewrites from a run.\n\n"
		   "The corpus: %zu customer utterances written the way people write to a shop —\n"
		   "typos, slang, emoji, mixed languages, amounts and order ids in many forms,\n"
		   "indirect requests, status questions, handoff requests, yes and no in many\n"
		   "forms — %u in English, %u in Brazilian Portuguese, %u in Spanish, each\n"
		   "labelled with its intent, language and entities. `tune.jsonl` (%zu) is what the\n"
		   "built-in understanding is improved against; `heldout.jsonl` (%zu, about a\n"
		   "quarter: one in four utterances of each language and intent, set aside by id\n"
		   "before any tuning) is never tuned on and shows how it does on phrasings it\n"
		   "has not seen.\n\n"
		   "A field is right when it is exactly the label, empty included (an amount\n"
		   "with its currency; \"\" when the text names none). Language is not counted\n"
		   "for utterances that cannot tell one (\"👍\", a bare order number).\n\n",
		sp[0].n + sp[1].n, per_lang[0], per_lang[1], per_lang[2], sp[0].n, sp[1].n);
	fprintf(f, "## Floor\n\n`make eval` (and so `make test`) fails when a built-in figure of a\n"
		   "split falls below its floor:\n\n```\n");
	for (int s = 0; s < 2; s++)
		if (fl->set[s])
			floor_line(f, sp[s].name, fl->v[s]);
	fprintf(f, "```\n");
	for (size_t b = 0; b < n_be; b++) {
		for (int s = 0; s < 2; s++) {
			const char *title = be[b].llm ? "LLM" : "Built-in";
			fprintf(f, "\n## %s — %s (%zu utterances)\n\n", title,
				s ? "held-out" : "tune", sp[s].n);
			if (be[b].llm) {
				const struct score *x = &sc[b][s];
				fprintf(f, "%s, merged with the built-in result as the agent does. "
					   "%u of %zu calls fell back to the built-in understanding; "
					   "mean latency %lld ms; %lld prompt and %lld completion tokens.\n\n",
					llm_desc, x->fallbacks, sp[s].n,
					sp[s].n ? x->latency_ms / (long long)sp[s].n : 0, x->tokens_in,
					x->tokens_out);
			}
			table(f, &sc[b][s]);
			confusion(f, &sc[b][s]);
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: eval [--dir DIR] [--config FILE] [--no-llm] [--no-write] "
			"[--errors tune|heldout] [--set-floor] [--threads N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = "tests/eval", *config_path = "config.ini", *errors = NULL;
	int no_llm = 0, no_write = 0, set_floor = 0, threads = 4;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config_path = argv[++i];
		else if (!strcmp(argv[i], "--errors") && i + 1 < argc)
			errors = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-llm"))
			no_llm = 1;
		else if (!strcmp(argv[i], "--no-write"))
			no_write = 1;
		else if (!strcmp(argv[i], "--set-floor"))
			set_floor = 1;
		else
			usage();
	}
	if (errors && split_index(errors) < 0)
		usage();
	log_threshold = LOG_ERROR;

	struct split sp[2];
	if (load_split(dir, "tune", &sp[0]) || load_split(dir, "heldout", &sp[1]))
		return 2;

	struct backend be[2] = { { "builtin", NULL }, { "llm", NULL } };
	size_t n_be = 1;
	char llm_desc[300] = "";
	static struct config cfg;
	char err[512];
	if (!no_llm && config_load(config_path, &cfg, err, sizeof err) == RD_OK && cfg.llm.enabled) {
		struct llm_config lc = {
			.provider = cfg.llm.provider, .base_url = cfg.llm.base_url, .model = cfg.llm.model,
			.api_key = cfg.llm.api_key, .timeout_ms = cfg.llm.timeout_ms,
			.max_tokens = cfg.llm.max_tokens, .temperature = cfg.llm.temperature,
		};
		if (llm_new(&lc, &be[1].llm, err, sizeof err) != RD_OK) {
			fprintf(stderr, "eval: [llm] %s\n", err);
			return 2;
		}
		snprintf(llm_desc, sizeof llm_desc, "`%s` model `%s`", cfg.llm.provider, cfg.llm.model);
		n_be = 2;
	}

	static struct score sc[2][2];
	for (size_t b = 0; b < n_be; b++)
		for (int s = 0; s < 2; s++)
			run(&be[b], &sp[s], threads,
			    b == 0 && errors && split_index(errors) == s, &sc[b][s]);

	char results[600];
	snprintf(results, sizeof results, "%s/RESULTS.md", dir);
	struct floor fl;
	read_floor(results, &fl);
	if (set_floor)
		for (int s = 0; s < 2; s++) {
			fl.set[s] = 1;
			for (int k = 0; k < F__COUNT; k++)
				fl.v[s][k] = floor(acc(&sc[0][s], N_LANGS, k) * 1000.0 + FLOOR_EPS) / 1000.0;
		}

	int below = 0;
	for (size_t b = 0; b < n_be; b++)
		for (int s = 0; s < 2; s++) {
			printf("eval %-7s %-7s n=%-3zu", be[b].name, sp[s].name, sp[s].n);
			for (int k = 0; k < F__COUNT; k++) {
				double a = acc(&sc[b][s], N_LANGS, k);
				int low = b == 0 && fl.set[s] && a + FLOOR_EPS < fl.v[s][k];
				below |= low;
				printf(" %s %.1f%%%s", field_key[k], 100.0 * a, low ? " (BELOW FLOOR)" : "");
			}
			printf("\n");
		}
	if (!no_write) {
		FILE *f = fopen(results, "w");
		if (!f) {
			perror(results);
			return 2;
		}
		write_results(f, sp, sc, n_be, be, &fl, llm_desc);
		if (fclose(f) != 0) {
			perror(results);
			return 2;
		}
	}
	if (!fl.set[0] && !fl.set[1])
		printf("eval: no floor recorded in %s (make eval EVAL_ARGS=--set-floor)\n", results);
	else
		printf("eval: %s\n", below ? "FAILED: below the floor in RESULTS.md" : "floor ok");

	llm_free(be[1].llm);
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < sp[s].n; i++)
			free(sp[s].items[i].text);
		free(sp[s].items);
	}
	return below ? 1 : 0;
}
