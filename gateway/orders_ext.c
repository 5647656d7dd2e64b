/* orders_ext.c — helpers shared by the postgres and http orders stores
 * (orders_ext.h). */
#include "gateway/orders_ext.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"

enum rd_err orders_ext_set(json_t *doc, const char *obj, const char *key, json_t *v)
{
	json_t *o = doc;
	if (!v)
		return RD_OK;
	if (obj) {
		o = json_object_get(doc, obj);
		if (!json_is_object(o)) {
			o = json_object();
			if (!o || json_object_set_new(doc, obj, o) != 0) {
				json_decref(v);
				return RD_ENOMEM;
			}
		}
	}
	return json_object_set_new(o, key, v) == 0 ? RD_OK : RD_ENOMEM;
}

void orders_ext_phone(const char *in, char *out, size_t n)
{
	size_t j = 0;
	out[0] = '\0';
	while (*in == ' ')
		in++;
	if (*in != '+' || n < 2)
		return;
	out[j++] = '+';
	for (in++; *in; in++) {
		if (*in >= '0' && *in <= '9') {
			if (j + 1 >= n) {
				out[0] = '\0';
				return;
			}
			out[j++] = *in;
		} else if (!strchr(" -().", *in)) {
			out[0] = '\0'; /* letters, an extension: not a number we can compare */
			return;
		}
	}
	out[j] = '\0';
}

int orders_ext_int(const char *s, int64_t *out)
{
	const char *p = s + (*s == '-');
	char *end;
	if (!*p || strspn(p, "0123456789") != strlen(p))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* customer.email without '@' or customer.phone that is not E.164 (after
 * orders_ext_phone): removed, so the rest of the order still validates. */
static void drop_bad_contacts(json_t *doc)
{
	json_t *c = json_object_get(doc, "customer");
	json_t *email = json_object_get(c, "email"), *phone = json_object_get(c, "phone");
	char norm[64];
	if (json_is_string(email) && !strchr(json_string_value(email), '@'))
		json_object_del(c, "email");
	else if (email && !json_is_string(email))
		json_object_del(c, "email");
	if (json_is_string(phone)) {
		orders_ext_phone(json_string_value(phone), norm, sizeof norm);
		size_t digits = strlen(norm) ? strlen(norm) - 1 : 0;
		if (digits < 8 || digits > 15)
			json_object_del(c, "phone");
		else
			json_object_set_new(c, "phone", json_string(norm));
	} else if (phone) {
		json_object_del(c, "phone");
	}
}

enum rd_err orders_ext_finish(json_t *doc, const char *want_id, const char *store,
			      struct order *out)
{
	char err[256];
	if (!json_is_object(json_object_get(doc, "customer")) &&
	    json_object_set_new(doc, "customer", json_object()) != 0)
		return RD_ENOMEM;
	if (!json_object_get(doc, "items") && json_object_set_new(doc, "items", json_array()) != 0)
		return RD_ENOMEM;
	drop_bad_contacts(doc);
	enum rd_err e = order_from_json(doc, now_ms() / 1000, out, err, sizeof err);
	if (e == RD_ENOMEM)
		return e;
	if (e != RD_OK) {
		LOG_E("orders", "bad_order_record", "%s store: order record does not validate: %s "
		      "(check the mapping)", store, err);
		return RD_EUNAVAIL;
	}
	if (strcmp(out->id, want_id) != 0) {
		LOG_W("orders", "order_id_mismatch", "%s store answered with another order id "
		      "(check the id column or map_id): treated as not found", store);
		memset(out, 0, sizeof *out);
		return RD_ENOTFOUND;
	}
	return RD_OK;
}

/* ---- prober ---------------------------------------------------------------- */

static void *prober_main(void *arg)
{
	struct orders_prober *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		pthread_mutex_unlock(&p->mu);
		int up = p->probe(p->arg) == RD_OK;
		if (atomic_exchange(&p->up, up) != up)
			LOG_I("orders", up ? "store_up" : "store_down", "orders store %s",
			      up ? "answers again" : "does not answer");
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += p->interval_ms / 1000;
		ts.tv_nsec += (long)(p->interval_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&p->mu);
		while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

enum rd_err orders_prober_start(struct orders_prober *p)
{
	atomic_init(&p->up, 1);
	p->stop = 0;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	/* the prober takes no signals, wherever it is started from: SIGTERM
	 * must reach the service thread */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&p->th, NULL, prober_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		return RD_ENOMEM;
	}
	pthread_setname_np(p->th, "rd-orders"); /* for top -H */
	p->started = 1;
	return RD_OK;
}

void orders_prober_stop(struct orders_prober *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	p->started = 0;
}

void orders_prober_note(struct orders_prober *p, int up)
{
	if (atomic_exchange(&p->up, up) != up)
		LOG_I("orders", up ? "store_up" : "store_down", "orders store %s",
		      up ? "answers again" : "does not answer");
}
