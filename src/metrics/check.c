/*
 * check.c — what the registry refuses at registration and lookup: names
 * outside the exposition grammar, names against Prometheus conventions
 * (counters end in _total, base units only), bad bucket lists, label
 * values that are not UTF-8 or too long.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics/internal.h"

enum { NAME_MAX_LEN = 120 };

static bool is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* [a-zA-Z_]<tail>* where colon is allowed only in metric names. */
static int check_ident(const char *s, bool colon)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > NAME_MAX_LEN)
        return -EINVAL;
    if (!is_alpha_(s[0]) && !(colon && s[0] == ':'))
        return -EINVAL;
    for (const char *p = s + 1; *p; p++)
        if (!is_alpha_(*p) && !is_digit(*p) && !(colon && *p == ':'))
            return -EINVAL;
    return 0;
}

int s6_metrics_check_name(const char *name)
{
    return check_ident(name, true);
}

int s6_metrics_check_label_name(const char *name)
{
    if (check_ident(name, false) < 0 || strncmp(name, "__", 2) == 0)
        return -EINVAL;
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Suffixes of units that are not Prometheus base units, and what to use. */
static const struct {
    const char *suffix;
    const char *use;
} non_base_units[] = {
    {"_milliseconds", "_seconds"}, {"_microseconds", "_seconds"},
    {"_nanoseconds", "_seconds"},  {"_minutes", "_seconds"},
    {"_hours", "_seconds"},        {"_days", "_seconds"},
    {"_ms", "_seconds"},           {"_us", "_seconds"},
    {"_ns", "_seconds"},           {"_millis", "_seconds"},
    {"_kilobytes", "_bytes"},      {"_megabytes", "_bytes"},
    {"_gigabytes", "_bytes"},      {"_kb", "_bytes"},
    {"_mb", "_bytes"},             {"_gb", "_bytes"},
    {"_percent", "_ratio (0..1)"}, {"_pct", "_ratio (0..1)"},
};

static int check_units(s6_metrics *m, const char *name)
{
    char base[NAME_MAX_LEN + 1];
    snprintf(base, sizeof base, "%s", name);
    if (ends_with(base, "_total"))
        base[strlen(base) - strlen("_total")] = '\0';
    for (size_t i = 0; i < sizeof non_base_units / sizeof non_base_units[0]; i++)
        if (ends_with(base, non_base_units[i].suffix))
            return s6__fail(m, -EINVAL, "%s: name: unit %s is not a base unit, use %s",
                            name, non_base_units[i].suffix + 1,
                            non_base_units[i].use);
    return 0;
}

static int check_conventions(s6_metrics *m, const s6_metric_desc *d)
{
    bool total = ends_with(d->name, "_total");
    if (d->type == S6_METRIC_COUNTER && !total)
        return s6__fail(m, -EINVAL, "%s: name: a counter's name ends in _total", d->name);
    if (d->type != S6_METRIC_COUNTER && total)
        return s6__fail(m, -EINVAL, "%s: name: only counters end in _total", d->name);
    return check_units(m, d->name);
}

static int check_labels(s6_metrics *m, const s6_metric_desc *d)
{
    bool ended = false;
    for (size_t i = 0; i < S6_METRICS_MAX_LABELS; i++) {
        const char *l = d->labels[i];
        if (l == NULL) {
            ended = true;
            continue;
        }
        if (ended)
            return s6__fail(m, -EINVAL, "%s: labels[%zu]: follows an empty slot", d->name, i);
        if (s6_metrics_check_label_name(l) < 0)
            return s6__fail(m, -EINVAL,
                            "%s: labels[%zu]: \"%s\" is not [a-zA-Z_][a-zA-Z0-9_]* "
                            "or starts with __", d->name, i, l);
        if (d->type == S6_METRIC_HISTOGRAM && strcmp(l, "le") == 0)
            return s6__fail(m, -EINVAL, "%s: labels[%zu]: le is the histogram's own",
                            d->name, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->labels[j], l) == 0)
                return s6__fail(m, -EINVAL, "%s: labels[%zu]: %s is repeated", d->name, i, l);
    }
    return 0;
}

static int check_buckets(s6_metrics *m, const s6_metric_desc *d)
{
    if (d->type != S6_METRIC_HISTOGRAM) {
        if (d->n_buckets != 0)
            return s6__fail(m, -EINVAL, "%s: buckets: only a histogram has them", d->name);
        return 0;
    }
    if (d->n_buckets == 0 || d->buckets == NULL || d->n_buckets > S6_METRICS_MAX_BUCKETS)
        return s6__fail(m, -EINVAL, "%s: buckets: a histogram needs 1 to %d bounds, has %zu",
                        d->name, S6_METRICS_MAX_BUCKETS, d->n_buckets);
    for (size_t i = 0; i < d->n_buckets; i++) {
        if (!isfinite(d->buckets[i]))
            return s6__fail(m, -EINVAL, "%s: buckets[%zu]: not finite (+Inf is implied)",
                            d->name, i);
        if (i > 0 && !(d->buckets[i] > d->buckets[i - 1]))
            return s6__fail(m, -EINVAL, "%s: buckets[%zu]: not above the bound before it",
                            d->name, i);
    }
    return 0;
}

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF.  Prometheus refuses a scrape with anything else in it. */
static bool valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        size_t n;
        unsigned min, cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        s += n + 1;
    }
    return true;
}

int s6__check_desc(s6_metrics *m, const s6_metric_desc *d)
{
    if (d == NULL)
        return s6__fail(m, -EINVAL, "metric description missing");
    if (s6_metrics_check_name(d->name) < 0)
        return s6__fail(m, -EINVAL, "%s: name: not [a-zA-Z_:][a-zA-Z0-9_:]* of at most %d bytes",
                        d->name ? d->name : "(null)", NAME_MAX_LEN);
    if (d->type < S6_METRIC_COUNTER || d->type > S6_METRIC_HISTOGRAM)
        return s6__fail(m, -EINVAL, "%s: type: %d is not counter, gauge or histogram",
                        d->name, (int)d->type);
    if (d->help == NULL || d->help[0] == '\0' || !valid_utf8((const unsigned char *)d->help))
        return s6__fail(m, -EINVAL, "%s: help: missing or not UTF-8", d->name);
    int rc = check_conventions(m, d);
    if (rc == 0)
        rc = check_labels(m, d);
    if (rc == 0)
        rc = check_buckets(m, d);
    return rc;
}

int s6__check_label_value(s6_metrics *m, const s6_metric *f, size_t i, const char *v)
{
    if (v == NULL)
        return s6__fail(m, -EINVAL, "%s: label %s: value missing", f->name, f->labels[i]);
    if (strlen(v) > S6_METRICS_LABEL_VALUE_MAX)
        return s6__fail(m, -EINVAL, "%s: label %s: value longer than %d bytes",
                        f->name, f->labels[i], S6_METRICS_LABEL_VALUE_MAX);
    if (!valid_utf8((const unsigned char *)v))
        return s6__fail(m, -EINVAL, "%s: label %s: value is not UTF-8", f->name, f->labels[i]);
    return 0;
}

const char *s6__type_name(s6_metric_type t)
{
    static const char *const names[] = {"untyped", "counter", "gauge", "histogram"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "untyped";
}
