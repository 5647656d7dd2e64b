/* log.h — one JSON line per event on stderr:
 *   {"ts":"2026-11-21T23:30:00.123Z","level":"info","module":"ingest","event":"accepted","msg":"..."}
 * Errors add "src":"file.c:123". Never log message text, emails or card
 * numbers at info: put them at debug, or leave them out. Thread-safe. */
#ifndef RD_LOG_H
#define RD_LOG_H

#include "common/rd.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_threshold;

/* "debug" | "info" | "warn" | "error" → level; RD_EINVAL otherwise. */
enum rd_err log_level_parse(const char *s, enum log_level *out) RD_WUR;

/* Emit one line. module/event are short identifiers; fmt builds "msg". */
void log_emit(enum log_level lvl, const char *module, const char *file, int line,
	      const char *event, const char *fmt, ...) RD_PRINTF(6, 7);

#define LOG(lvl, module, event, ...)                                           \
	do {                                                                   \
		if ((lvl) >= log_threshold)                                    \
			log_emit((lvl), (module), __FILE__, __LINE__, (event), \
				 __VA_ARGS__);                                 \
	} while (0)
#define LOG_D(m, e, ...) LOG(LOG_DEBUG, m, e, __VA_ARGS__)
#define LOG_I(m, e, ...) LOG(LOG_INFO, m, e, __VA_ARGS__)
#define LOG_W(m, e, ...) LOG(LOG_WARN, m, e, __VA_ARGS__)
#define LOG_E(m, e, ...) LOG(LOG_ERROR, m, e, __VA_ARGS__)

#endif
