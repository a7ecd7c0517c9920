/*
 * log.h — structured logs: one JSON object per line.
 *
 *   {"ts":"2026-11-25T19:52:07.123Z","level":"info","component":"http",
 *    "msg":"listening","port":8086}
 *
 * Every line carries ts (RFC 3339, UTC, milliseconds), level, component and
 * msg, then the caller's fields in order.  Fields thread a story through the
 * logs, so ids use fixed keys: pos_id, plan_id, intent_id, request_id,
 * rule_version.  A field that repeats one of the four fixed keys, or an
 * earlier field, is dropped: the first value wins, so no caller can forge
 * the level or time of a line.
 *
 * All state lives in an s6_log the caller owns (no globals); the sink and
 * the clock are replaceable so tests capture lines and replays pin time.
 * A NULL s6_log is a valid "log nothing".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum s6_log_level {
    S6_LOG_DEBUG = 0,
    S6_LOG_INFO,
    S6_LOG_WARN,
    S6_LOG_ERROR,
    S6_LOG_OFF /* as a threshold only: nothing is written */
} s6_log_level;

typedef enum s6_log_ftype {
    S6_LOG_F_STR = 1, /* NULL writes null; invalid UTF-8 becomes U+FFFD */
    S6_LOG_F_INT,
    S6_LOG_F_NUM,     /* NaN and infinities write null (JSON has neither) */
    S6_LOG_F_BOOL
} s6_log_ftype;

typedef struct s6_log_field {
    const char *key;
    s6_log_ftype type;
    union {
        const char *s;
        long long i;
        double d;
        bool b;
    } v;
} s6_log_field;

#define S6_LOG_STR(k, x) \
    ((s6_log_field){ .key = (k), .type = S6_LOG_F_STR, .v.s = (x) })
#define S6_LOG_INT(k, x) \
    ((s6_log_field){ .key = (k), .type = S6_LOG_F_INT, .v.i = (x) })
#define S6_LOG_NUM(k, x) \
    ((s6_log_field){ .key = (k), .type = S6_LOG_F_NUM, .v.d = (x) })
#define S6_LOG_BOOL(k, x) \
    ((s6_log_field){ .key = (k), .type = S6_LOG_F_BOOL, .v.b = (x) })

/* Receives each finished line, newline included, in one call. */
typedef void (*s6_log_sink)(void *ud, const char *line, size_t len);
/* Wall-clock time in milliseconds since the Unix epoch. */
typedef int64_t (*s6_log_clock)(void *ud);

typedef struct s6_log {
    s6_log_level level; /* lines below this level are not written */
    s6_log_sink sink;
    void *sink_ud;
    s6_log_clock clock;
    void *clock_ud;
    unsigned long dropped; /* lines lost to allocation failure */
} s6_log;

/* Threshold `level`, lines to stderr, the system clock. */
void s6_log_init(s6_log *lg, s6_log_level level);
void s6_log_set_sink(s6_log *lg, s6_log_sink sink, void *ud);
void s6_log_set_clock(s6_log *lg, s6_log_clock clock, void *ud);

/* "debug", "info", "warn" (or "warning"), "error", "off"; any case.
 * Returns 0, or -EINVAL for anything else (and leaves *out alone). */
int s6_log_level_parse(const char *name, s6_log_level *out);
const char *s6_log_level_name(s6_log_level level);
bool s6_log_enabled(const s6_log *lg, s6_log_level level);

/* Formats `ts` for epoch milliseconds `ms` into out[25]
 * ("YYYY-MM-DDTHH:MM:SS.mmmZ").  Returns 0, or -ERANGE. */
int s6_log_format_ts(int64_t ms, char out[25]);

void s6_log_write(s6_log *lg, s6_log_level level, const char *component,
                  const char *msg, const s6_log_field *fields, size_t n);

/* s6_log_info(lg, "http", "listening", S6_LOG_INT("port", 8086), ...):
 * the fields become a compound-literal array; the leading placeholder lets
 * the list be empty. */
#define S6_LOG__FIELDS(...)                                            \
    ((const s6_log_field[]){ { .key = NULL }, __VA_ARGS__ }) + 1,      \
    (sizeof((const s6_log_field[]){ { .key = NULL }, __VA_ARGS__ }) /  \
         sizeof(s6_log_field) - 1)

#define s6_log_debug(lg, comp, msg, ...) \
    s6_log_write((lg), S6_LOG_DEBUG, (comp), (msg), S6_LOG__FIELDS(__VA_ARGS__))
#define s6_log_info(lg, comp, msg, ...) \
    s6_log_write((lg), S6_LOG_INFO, (comp), (msg), S6_LOG__FIELDS(__VA_ARGS__))
#define s6_log_warn(lg, comp, msg, ...) \
    s6_log_write((lg), S6_LOG_WARN, (comp), (msg), S6_LOG__FIELDS(__VA_ARGS__))
#define s6_log_error(lg, comp, msg, ...) \
    s6_log_write((lg), S6_LOG_ERROR, (comp), (msg), S6_LOG__FIELDS(__VA_ARGS__))
