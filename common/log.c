#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stdlib.h>

#include <jansson.h>

enum log_level log_threshold = LOG_INFO;

enum rd_err log_level_parse(const char *s, enum log_level *out)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	for (size_t i = 0; i < RD_ARRAY_LEN(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return RD_OK;
		}
	return RD_EINVAL;
}

void log_emit(enum log_level lvl, const char *module, const char *file, int line,
	      const char *event, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char msg[1024], ts[96], src[128];
	struct timespec now;
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	const char *base = strrchr(file, '/');
	snprintf(src, sizeof src, "%s:%d", base ? base + 1 : file, line);

	json_t *o = json_object();
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(names[lvl]));
	json_object_set_new(o, "module", json_string(module));
	json_object_set_new(o, "event", json_string(event));
	if (msg[0])
		json_object_set_new(o, "msg", json_string(msg));
	if (lvl >= LOG_WARN)
		json_object_set_new(o, "src", json_string(src));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s) {
		/* one fprintf per line: stdio locks the stream, lines never interleave */
		fprintf(stderr, "%s\n", s);
		free(s);
	}
}
