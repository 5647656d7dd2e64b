/* config.h — config.ini, loaded with inih through one table of
 * {section, key, type, field, default} (config.c), then overridden by
 * environment variables REDRESS_<SECTION>_<KEY> (upper-case, '.' → '_':
 * REDRESS_RAILS_STRIPE_SECRET_KEY). An unknown section or key, or a bad
 * value, stops start-up with "config.ini:12: [policy] daily_cap: reason". */
#ifndef RD_CONFIG_H
#define RD_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "agent/mandate.h"
#include "agent/policy.h"
#include "common/log.h"
#include "common/money.h"
#include "common/rd.h"
#include "gateway/orders_cfg.h"

#define CONFIG_MAX_LIST 16

struct config {
	char path[512];                       /* the file it was loaded from */
	struct {
		char listen[128];                 /* "127.0.0.1:8080" or "[::1]:8080" */
		int workers;                      /* agent worker threads (2) */
		int senders;                      /* outbox sender threads (1) */
		int claim_idle_ms;                /* reclaim pending entries idle this long (30000) */
		int stream_retention_s;           /* keep handled stream entries this long (86400) */
		int drain_timeout_ms;             /* SIGTERM: max wait for in-flight work (10000) */
		size_t max_body_bytes;            /* request body cap, bytes (3 MiB) */
		enum log_level log_level;         /* debug | info | warn | error (info) */
	} gateway;
	struct {
		char url[256];                    /* redis://127.0.0.1:6379/0, unix:///path/redis.sock?db=0 */
		int timeout_ms;                   /* connect and command timeout (2000) */
	} redis;
	struct {
		int enabled;                      /* (true) */
		char api_key[256];                /* bearer key; required when enabled */
		int reply_timeout_ms;             /* how long POST /v1/test/messages waits (5000) */
	} test_channel;
	struct {
		char default_locale[16];          /* (en) */
		char locales[CONFIG_MAX_LIST][16];/* (en, pt-BR, es) */
		size_t n_locales;
		int max_verify_attempts;          /* failed order/identity checks before a human (3) */
	} agent;
	struct policy_config policy;
	struct mandate_config mandate;
	struct {
		char enabled[CONFIG_MAX_LIST][32];/* providers that may execute refunds (sandbox) */
		size_t n_enabled;
		int max_attempts;                 /* deliveries of a turn whose rail outcome stays
		                                     unknown (5xx, timeout) before a person takes it (5) */
	} rails;
	struct {
		char dir[256];                    /* (templates) */
	} templates;
	struct {
		char api_base[256];               /* (https://api.stripe.com) */
		char secret_key[256];             /* sk_… (env REDRESS_RAILS_STRIPE_SECRET_KEY) */
		char webhook_secret[256];         /* whsec_… signs Stripe-Signature */
		int timeout_ms;                   /* (10000) */
	} stripe;
	struct {
		char api_base[256];               /* the PSP's API Pix base URL */
		char token_url[256];              /* OAuth2 client-credentials token endpoint */
		char client_id[256];
		char client_secret[256];
		char cert_file[256];              /* mutual TLS client certificate (PEM) */
		char key_file[256];               /* and its key */
		int timeout_ms;                   /* (10000) */
		int poll_interval_s;              /* pending devoluções are polled this often (30) */
	} pix;
	struct {
		char api_base[256];               /* the wallet provider's REST API */
		char api_key[256];
		char agent_id[128];
		int timeout_ms;                   /* (10000) */
	} usdc;
	struct {
		char name[128];                   /* (Demo Shop) */
		char tax_id[64];                  /* ("") */
		char address[256];                /* ("") */
		char credit_note_prefix[16];      /* (NC-) */
		char link_secret[256];            /* signs credit-note links; empty: a random one per start */
		int link_ttl_days;                /* credit-note links expire (90) */
	} issuer;
	struct {
		char public_url[256];             /* how customers reach us: http://127.0.0.1:8080 */
	} site;
	struct {
		char store[16];                   /* redis | postgres | http (redis) */
	} orders;
	struct orders_pg_config orders_pg;    /* [orders.postgres] */
	struct orders_http_config orders_http; /* [orders.http] */
	struct {
		int enabled;                      /* (false) */
		char verify_token[256];           /* webhook verification handshake token */
		char app_secret[256];             /* signs X-Hub-Signature-256 */
		char access_token[1024];          /* Graph API bearer token */
		char phone_number_id[64];         /* the business number we send from */
		char graph_api_base[256];         /* (https://graph.facebook.com/v21.0) */
		int max_messages_per_second;      /* per phone number (80, Meta's default) */
		char templates[512];              /* "name=template/lang, *=template/lang" */
		int service_window_s;             /* customer service window (86400) */
		int timeout_ms;                   /* Graph API request timeout (10000) */
	} whatsapp;
	struct {
		int enabled;                      /* (false) */
		char signing_secret[256];         /* signs X-Slack-Signature */
		char bot_token[512];              /* xoxb-… Web API bearer token */
		char api_base[256];               /* (https://slack.com/api) */
		char review_channel[64];          /* channel id where review cards go */
		char reviewers[CONFIG_MAX_LIST * 2][32]; /* user ids allowed to decide; none = anyone */
		size_t n_reviewers;
		int timeout_ms;                   /* Web API request timeout (10000) */
	} slack;
	struct {
		int enabled;                      /* (true) */
		char allowed_origins[CONFIG_MAX_LIST][128]; /* besides [site] public_url; "*" = any */
		size_t n_allowed_origins;
		int max_message_bytes;            /* a frame's size cap (4096) */
		int session_ttl_days;             /* idle sessions are forgotten (30) */
		char assets_dir[256];             /* widget.js and index.html (channels/webchat) */
	} webchat;
	struct {
		int customer_messages_per_minute; /* per channel + user, all processes (30); 0: off */
		int ip_requests_per_minute;       /* per address, web chat and test channel only,
		                                     per process (600); 0: off */
	} limits;
	struct {
		int ttl_days;                     /* review tickets expire after this (7) */
		int sweep_interval_s;             /* how often expired tickets are looked for (60) */
	} review;
	struct {
		int enabled;                      /* (false) */
		char provider[16];                /* openai | anthropic (openai) */
		char base_url[256];               /* "": the provider's public API */
		char model[128];                  /* required when enabled */
		char api_key[512];                /* env REDRESS_LLM_API_KEY */
		int timeout_ms;                   /* bound of one whole call (3000) */
		int max_tokens;                   /* (512) */
		double temperature;               /* (0) */
		int phrase_replies;               /* let the model phrase replies' free text (false) */
	} llm;
};

/* Fill every field with its documented default. */
void config_defaults(struct config *cfg);

/* Defaults, then the file, then REDRESS_* environment overrides, then
 * cross-checks (default_locale in locales, api_key set when the test channel
 * is enabled…). A missing file is an error. On error returns RD_ECONFIG with
 * the first error in err (cfg is then partly loaded; do not use it):
 *   "path:line: [section] key: reason"     a bad or unknown key, a key set twice
 *   "path:line: [section]: unknown section", "path:line: syntax error"
 *   "path: cannot open: No such file or directory"
 *   "env REDRESS_X: [section] key: reason"  a bad environment value
 * A cross-check error is prefixed by where the value came from: its line,
 * "env REDRESS_X:", or "path:" when it is the default. */
enum rd_err config_load(const char *path, struct config *cfg, char *err, size_t errlen) RD_WUR;
/* The same from an open stream f (borrowed, read to its end, not closed);
 * path names it in errors and in cfg->path. config_load is fopen + this. */
enum rd_err config_load_stream(FILE *f, const char *path, struct config *cfg, char *err,
			       size_t errlen) RD_WUR;

/* Print the effective configuration to f as INI, every section and key in
 * table order, each under a comment with its doc and default. Secrets
 * (api_key, any key named *key*, *secret*, *token*) show as "(set)" or
 * empty, and a password in a URL as "(set)"; the output loads back as a
 * config file. Borrows both. */
void config_dump(const struct config *cfg, FILE *f);

#endif
