/* main.c — the redress command line: serve, orders import, audit verify,
 * config check. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libwebsockets.h>

#include "agent/agent.h"
#include "agent/audit.h"
#include "agent/llm.h"
#include "agent/orders.h"
#include "agent/templates.h"
#include "channels/channel.h"
#include "common/log.h"
#include "common/util.h"
#include "gateway/bus.h"
#include "gateway/consumer.h"
#include "gateway/gateway.h"
#include "gateway/http.h"
#include "gateway/io.h"
#include "gateway/orders_select.h"
#include "gateway/routes.h"
#include "gateway/creditnotes.h"
#include "gateway/webhooks_rails.h"
#include "gateway/metrics.h"
#include "gateway/worker.h"

#define MAX_ROUTES 32


static struct lws_context *lws_ctx;
static volatile sig_atomic_t got_signal;

static const char usage[] =
	"usage: redress [--config FILE] [COMMAND]\n"
	"\n"
	"Refund-support gateway: WhatsApp, Slack, web chat and a test channel in front\n"
	"of one refund agent, with a spend mandate and a tamper-evident audit log.\n"
	"\n"
	"commands:\n"
	"  serve                 run the gateway in the foreground (the default)\n"
	"  orders import FILE    import orders, one JSON object per line (JSON Lines)\n"
	"  audit verify          walk the audit hash chain; non-zero if it was tampered with\n"
	"  config check          load the configuration and print the effective values\n"
	"\n"
	"options:\n"
	"  --config FILE         configuration file (default ./config.ini)\n"
	"  --help, --version\n"
	"\n"
	"Any setting can be overridden by REDRESS_<SECTION>_<KEY> environment variables.\n";

/* A push from the bus, to whoever waits for its key (service thread). */
static void deliver_push(const char *key, const char *payload, size_t len)
{
	if (strncmp(key, "webchat:", 8) == 0)
		webchat_deliver(key, payload, len);
	else
		http_push_deliver(key, payload, len);
}

static void wakeup(void)
{
	if (lws_ctx)
		lws_cancel_service(lws_ctx);
}

static void on_signal(int sig)
{
	got_signal = sig;
	atomic_store(&gw.stopping, 1);
	if (lws_ctx)
		lws_cancel_service(lws_ctx); /* a write to lws's pipe */
}

static void lws_log(int level, const char *line)
{
	char msg[512];
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	snprintf(msg, sizeof msg, "%.*s", (int)n, line);
	if (level & LLL_ERR)
		LOG_E("lws", "lws", "%s", msg);
	else
		LOG_W("lws", "lws", "%s", msg);
}

static int load_config(const char *path, struct config *cfg)
{
	char err[512];
	if (config_load(path, cfg, err, sizeof err) != RD_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	log_threshold = cfg->gateway.log_level;
	return 0;
}

static redisContext *connect_or_die(const struct config *cfg)
{
	char err[256];
	struct redis_target t;
	if (redis_target_parse(cfg->redis.url, &t, err, sizeof err) != RD_OK) {
		fprintf(stderr, "%s: [redis] url: %s\n", cfg->path, err);
		return NULL;
	}
	redisContext *rc = redis_open(&t, cfg->redis.timeout_ms, err, sizeof err);
	if (!rc)
		fprintf(stderr, "redress: %s\n", err);
	return rc;
}

/* ---- orders import ---- */

static int cmd_orders_import(const struct config *cfg, const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return 2;
	}
	redisContext *rc = connect_or_die(cfg);
	if (!rc) {
		fclose(f);
		return 2;
	}
	char *line = NULL, err[256];
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, ok = 0, bad = 0;
	int64_t now = now_ms() / 1000;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strspn(line, " \t") == (size_t)len)
			continue; /* blank lines are fine */
		struct order o;
		json_t *doc = NULL;
		if (order_parse_line(line, (size_t)len, now, &o, &doc, err, sizeof err) != RD_OK) {
			fprintf(stderr, "%s:%ld: %s\n", file, lineno, err);
			bad++;
			continue;
		}
		enum rd_err e = orders_redis_put(rc, doc, &o);
		json_decref(doc);
		if (e) {
			fprintf(stderr, "%s:%ld: cannot store order %s: %s\n", file, lineno, o.id, rd_strerror(e));
			bad++;
			continue;
		}
		ok++;
	}
	free(line);
	fclose(f);
	redisFree(rc);
	printf("imported %ld orders, %ld rejected\n", ok, bad);
	return bad ? 1 : 0;
}

/* ---- audit verify ---- */

static int cmd_audit_verify(const struct config *cfg)
{
	redisContext *rc = connect_or_die(cfg);
	if (!rc)
		return 2;
	struct audit_verify_result r;
	enum rd_err e = audit_verify(rc, &r);
	redisFree(rc);
	if (e) {
		fprintf(stderr, "redress: audit verify: %s\n", rd_strerror(e));
		return 2;
	}
	if (r.ok) {
		printf("audit chain ok: %lld entries\n", (long long)r.checked);
		return 0;
	}
	printf("audit chain BROKEN at entry %s: %s (%lld entries checked)\n",
	       r.bad_id[0] ? r.bad_id : "(head)", r.reason, (long long)r.checked);
	return 1;
}

/* ---- serve ---- */

static int parse_listen(const char *listen, char *host, size_t n, int *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return -1;
	const char *h = listen;
	size_t hl = (size_t)(colon - listen);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= n)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = atoi(colon + 1);
	return *port > 0 ? 0 : -1;
}

static int cmd_serve(const struct config *cfg)
{
	char err[512], host[128];
	int port, rc = 1;
	struct templates *tpl = NULL;
	struct agent *agent = NULL;
	struct rails *rails = NULL;
	struct llm *llm = NULL;
	const struct orders_store_ops *store = NULL;
	void *store_ctx = NULL;
	static char link_secret[65];
	static struct http_route routes[MAX_ROUTES];

	gw.cfg = cfg;
	gw.wakeup = wakeup;
	char hostname[64] = "";
	gethostname(hostname, sizeof hostname - 1);
	consumer_instance(gw.instance, sizeof gw.instance, hostname, consumer_pidns(), (long)getpid(),
			  now_ms());
	if (redis_target_parse(cfg->redis.url, &gw.redis, err, sizeof err) != RD_OK) {
		fprintf(stderr, "%s: [redis] url: %s\n", cfg->path, err);
		return 2;
	}
	if (parse_listen(cfg->gateway.listen, host, sizeof host, &port) < 0) {
		fprintf(stderr, "%s: [gateway] listen: bad address \"%s\"\n", cfg->path, cfg->gateway.listen);
		return 2;
	}
	const char *locales[CONFIG_MAX_LIST];
	for (size_t i = 0; i < cfg->agent.n_locales; i++)
		locales[i] = cfg->agent.locales[i];
	if (templates_load(cfg->templates.dir, locales, cfg->agent.n_locales, &tpl, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (channels_init(cfg, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	struct rails_config rcfg = {
		.stripe = { cfg->stripe.api_base, cfg->stripe.secret_key, cfg->stripe.timeout_ms },
		.pix = { cfg->pix.api_base, cfg->pix.token_url, cfg->pix.client_id, cfg->pix.client_secret,
			 cfg->pix.cert_file, cfg->pix.key_file, cfg->pix.timeout_ms },
		.usdc = { cfg->usdc.api_base, cfg->usdc.api_key, cfg->usdc.agent_id, cfg->usdc.timeout_ms },
		.max_attempts = cfg->rails.max_attempts,
		/* one worker always stays free of rail calls (a hung rail blocks nobody else) */
		.max_inflight = cfg->gateway.workers > 1 ? cfg->gateway.workers - 1 : 1,
	};
	if (rails_open(&rcfg, cfg->rails.enabled, cfg->rails.n_enabled, &rails, err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", cfg->path, err);
		rc = 2;
		goto out;
	}
	/* credit-note links: a configured secret, or a random one for this run */
	if (!cfg->issuer.link_secret[0] && random_hex(32, link_secret) != RD_OK) {
		fprintf(stderr, "redress: no randomness for the credit-note link secret\n");
		goto out;
	}
	struct agent_config acfg = {
		.policy = &cfg->policy, .mandate = &cfg->mandate,
		.default_locale = cfg->agent.default_locale,
		.max_verify_attempts = cfg->agent.max_verify_attempts,
		.issuer_name = cfg->issuer.name, .credit_note_prefix = cfg->issuer.credit_note_prefix,
		.review_ttl_days = cfg->review.ttl_days,
		.issuer_tax_id = cfg->issuer.tax_id, .issuer_address = cfg->issuer.address,
		.rails = rails, .public_url = cfg->site.public_url,
		.link_secret = cfg->issuer.link_secret[0] ? cfg->issuer.link_secret : link_secret,
		.link_ttl_days = cfg->issuer.link_ttl_days,
	};
	struct llm_config lcfg = {
		.provider = cfg->llm.provider, .base_url = cfg->llm.base_url, .model = cfg->llm.model,
		.api_key = cfg->llm.api_key, .timeout_ms = cfg->llm.timeout_ms,
		.max_tokens = cfg->llm.max_tokens, .temperature = cfg->llm.temperature,
		.phrase_replies = cfg->llm.phrase_replies, .observe = metrics_llm,
	};
	if (cfg->llm.enabled && llm_new(&lcfg, &llm, err, sizeof err)) {
		fprintf(stderr, "%s: [llm] %s\n", cfg->path, err);
		rc = 2;
		goto out;
	}
	acfg.llm = llm;
	if (orders_store_open(cfg, &store, &store_ctx, err, sizeof err) != RD_OK) {
		fprintf(stderr, "%s\n", err);
		rc = 2;
		goto out;
	}
	gw.orders = store;
	gw.orders_ctx = store_ctx;
	if (agent_new(&acfg, tpl, store, store_ctx, &agent))
		goto out;
	gw.tpl = tpl;
	gw.link_secret = acfg.link_secret;

	size_t n = routes_gateway(routes, MAX_ROUTES);
	n += routes_rail_webhooks(routes + n, MAX_ROUTES - n);
	n += routes_credit_notes(routes + n, MAX_ROUTES - n);
	n += channels_routes(routes + n, MAX_ROUTES - n);
	http_set_routes(routes, n);

	/* threads inherit this mask: only the service thread takes signals,
	 * so a signal interrupts its poll() */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	static struct lws_protocols protocols[3];
	static const lws_retry_bo_t idle = { .secs_since_valid_ping = 30, .secs_since_valid_hangup = 75 };
	protocols[0] = http_protocol;
	if (cfg->webchat.enabled)
		protocols[1] = webchat_protocol; /* idle sockets are pinged, dead ones closed */
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = host;
	info.protocols = protocols;
	info.max_http_header_data = 8192;
	info.keepalive_timeout = HTTP_KEEPALIVE_S; /* announced in every keep-alive response */
	info.retry_and_idle_policy = &idle;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 * (strchr(host, ':') == NULL);
	lws_ctx = lws_create_context(&info);
	if (!lws_ctx) {
		fprintf(stderr, "redress: cannot listen on %s\n", cfg->gateway.listen);
		goto out;
	}
	http_init(lws_ctx, cfg->gateway.max_body_bytes);
	if (cfg->webchat.enabled)
		http_set_upgrade_filter(webchat_upgrade_ok);
	if (io_start() || bus_start(deliver_push) ||
	    workers_start(agent, cfg->gateway.workers, cfg->gateway.senders)) {
		fprintf(stderr, "redress: cannot start threads\n");
		goto out;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	LOG_I("gateway", "listening", "redress %s on %s (redis %s, %d workers)", REDRESS_VERSION,
	      cfg->gateway.listen, cfg->redis.url, cfg->gateway.workers);

	while (!atomic_load(&gw.stopping)) {
		if (lws_service(lws_ctx, 0) < 0)
			break;
		io_flush(); /* this pass's store jobs, in one hand-over */
	}

	/* drain: refuse new requests, finish the ones in flight */
	LOG_I("gateway", "draining", "signal %d", (int)got_signal);
	http_set_draining(1);
	int64_t deadline = mono_ms() + cfg->gateway.drain_timeout_ms;
	while ((http_inflight() > 0 || io_pending() > 0) && mono_ms() < deadline) {
		lws_service(lws_ctx, 0);
		io_flush();
	}
	workers_stop();
	bus_stop();
	io_stop();
	io_poll_done();
	rc = 0;
	LOG_I("gateway", "stopped", "%d requests cut short", http_inflight());
out:
	if (lws_ctx)
		lws_context_destroy(lws_ctx);
	lws_ctx = NULL;
	channels_destroy();
	agent_free(agent);
	orders_store_close(store, store_ctx); /* after the workers: nothing reads it now */
	rails_close(rails);
	llm_free(llm);
	templates_free(tpl);
	return rc;
}

int main(int argc, char **argv)
{
	const char *config_path = "config.ini";
	const char *args[8];
	int nargs = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("redress %s\n", REDRESS_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--config")) {
			if (++i == argc) {
				fputs("redress: --config needs a FILE\n", stderr);
				return 2;
			}
			config_path = argv[i];
			continue;
		}
		if (nargs == (int)RD_ARRAY_LEN(args) || argv[i][0] == '-') {
			fprintf(stderr, "redress: unknown option %s\n%s", argv[i], usage);
			return 2;
		}
		args[nargs++] = argv[i];
	}
	static struct config cfg;
	if (load_config(config_path, &cfg) < 0)
		return 2;
	if (nargs == 0 || (nargs == 1 && !strcmp(args[0], "serve")))
		return cmd_serve(&cfg);
	if (nargs == 3 && !strcmp(args[0], "orders") && !strcmp(args[1], "import"))
		return cmd_orders_import(&cfg, args[2]);
	if (nargs == 2 && !strcmp(args[0], "audit") && !strcmp(args[1], "verify"))
		return cmd_audit_verify(&cfg);
	if (nargs == 2 && !strcmp(args[0], "config") && !strcmp(args[1], "check")) {
		config_dump(&cfg, stdout);
		return 0;
	}
	fprintf(stderr, "redress: unknown command\n%s", usage);
	return 2;
}
