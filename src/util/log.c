#include "util/log.h"
#include "util/buf.h"
#include "util/clock.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {
    [S6_LOG_DEBUG] = "debug",
    [S6_LOG_INFO] = "info",
    [S6_LOG_WARN] = "warn",
    [S6_LOG_ERROR] = "error",
    [S6_LOG_OFF] = "off",
};

static const struct {
    const char *name;
    s6_log_level level;
} level_aliases[] = { { "warning", S6_LOG_WARN } };

static void stderr_sink(void *ud, const char *line, size_t len)
{
    (void)ud;
    /* stderr is unbuffered: one fwrite is one write(2), so lines from
     * concurrent writers do not interleave mid-line. */
    fwrite(line, 1, len, stderr);
}

static int64_t system_clock(void *ud)
{
    (void)ud;
    return s6_clock_wall_ms();
}

void s6_log_init(s6_log *lg, s6_log_level level)
{
    *lg = (s6_log){ .level = level, .sink = stderr_sink, .clock = system_clock };
}

void s6_log_set_sink(s6_log *lg, s6_log_sink sink, void *ud)
{
    lg->sink = sink ? sink : stderr_sink;
    lg->sink_ud = ud;
}

void s6_log_set_clock(s6_log *lg, s6_log_clock clock, void *ud)
{
    lg->clock = clock ? clock : system_clock;
    lg->clock_ud = ud;
}

int s6_log_level_parse(const char *name, s6_log_level *out)
{
    if (name == NULL)
        return -EINVAL;
    for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (s6_log_level)i;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof level_aliases / sizeof *level_aliases; i++) {
        if (strcasecmp(name, level_aliases[i].name) == 0) {
            *out = level_aliases[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

const char *s6_log_level_name(s6_log_level level)
{
    if ((unsigned)level >= sizeof level_names / sizeof *level_names)
        return "unknown";
    return level_names[level];
}

bool s6_log_enabled(const s6_log *lg, s6_log_level level)
{
    return lg != NULL && level < S6_LOG_OFF && level >= lg->level;
}

int s6_log_format_ts(int64_t ms, char out[25])
{
    int64_t sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) { /* floor, so times before 1970 still read forwards */
        frac += 1000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
        tm.tm_year + 1900 > 9999)
        return -ERANGE;
    /* Fields are in range by now; the roomy buffer is for the compiler,
     * which cannot see that. */
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (int)frac);
    if (n != 24)
        return -ERANGE;
    memcpy(out, tmp, 25);
    return 0;
}

/* Length of the valid UTF-8 sequence starting at s (1..4), 0 if invalid:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char *s)
{
    static const struct {
        unsigned char mask, lead, bits;
        unsigned min;
    } forms[] = {
        { 0x80, 0x00, 0x7f, 0 },
        { 0xe0, 0xc0, 0x1f, 0x80 },
        { 0xf0, 0xe0, 0x0f, 0x800 },
        { 0xf8, 0xf0, 0x07, 0x10000 },
    };
    for (size_t n = 0; n < sizeof forms / sizeof *forms; n++) {
        if ((s[0] & forms[n].mask) != forms[n].lead)
            continue;
        unsigned cp = s[0] & forms[n].bits;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < forms[n].min || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        return n + 1;
    }
    return 0;
}

/* Text from the outside world (request paths, peer errors) may be any
 * bytes; a log line must stay valid JSON, so bad bytes become U+FFFD. */
static json_t *string_value(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *v = json_string(s);
    if (v != NULL)
        return v;
    s6_buf clean = { 0 };
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_seq(p);
        if (n == 0 ? s6_buf_append(&clean, "\xef\xbf\xbd", 3) < 0
                   : s6_buf_append(&clean, p, n) < 0)
            break;
        p += n ? n : 1;
    }
    v = json_string(clean.data ? clean.data : "");
    s6_buf_free(&clean);
    return v;
}

static json_t *field_value(const s6_log_field *f)
{
    switch (f->type) {
    case S6_LOG_F_STR:
        return string_value(f->v.s);
    case S6_LOG_F_INT:
        return json_integer(f->v.i);
    case S6_LOG_F_NUM:
        return isfinite(f->v.d) ? json_real(f->v.d) : json_null();
    case S6_LOG_F_BOOL:
        return json_boolean(f->v.b);
    }
    return json_null();
}

/* Fewest significant digits that read back as the same double: jansson
 * prints 17 by default, which turns a price of 0.1 into 0.10000000000000001
 * in front of an operator. */
static int shortest_digits(double d)
{
    char tmp[32];
    for (int p = 1; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, d);
        if (strtod(tmp, NULL) == d)
            return p;
    }
    return 17;
}

static size_t real_digits(const s6_log_field *fields, size_t n)
{
    int digits = 1;
    for (size_t i = 0; i < n; i++) {
        if (fields[i].type == S6_LOG_F_NUM && isfinite(fields[i].v.d)) {
            int p = shortest_digits(fields[i].v.d);
            digits = p > digits ? p : digits;
        }
    }
    return (size_t)digits;
}

static int dump_to_buf(const char *p, size_t n, void *ud)
{
    return s6_buf_append(ud, p, n) < 0 ? -1 : 0;
}

static json_t *build_line(s6_log *lg, s6_log_level level,
                          const char *component, const char *msg,
                          const s6_log_field *fields, size_t n)
{
    char ts[25];
    if (s6_log_format_ts(lg->clock(lg->clock_ud), ts) < 0)
        ts[0] = '\0';
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(s6_log_level_name(level)));
    json_object_set_new(o, "component", string_value(component));
    json_object_set_new(o, "msg", string_value(msg));
    for (size_t i = 0; i < n; i++) {
        if (fields[i].key == NULL || json_object_get(o, fields[i].key))
            continue;
        json_object_set_new(o, fields[i].key, field_value(&fields[i]));
    }
    return o;
}

void s6_log_write(s6_log *lg, s6_log_level level, const char *component,
                  const char *msg, const s6_log_field *fields, size_t n)
{
    if (!s6_log_enabled(lg, level))
        return;
    json_t *o = build_line(lg, level, component, msg, fields, n);
    s6_buf line = { 0 };
    size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(real_digits(fields, n));
    if (o == NULL || json_dump_callback(o, dump_to_buf, &line, flags) ||
        s6_buf_append(&line, "\n", 1) < 0)
        lg->dropped++;
    else
        lg->sink(lg->sink_ud, line.data, line.len);
    s6_buf_free(&line);
    json_decref(o);
}
