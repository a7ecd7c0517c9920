/*
 * expo.c — the Prometheus text exposition, format 0.0.4:
 *
 *   # HELP <name> <help, \ and newline escaped>
 *   # TYPE <name> counter|gauge|histogram
 *   <name>[{<label>="<value, \ " and newline escaped>",...}] <value>
 *
 * A histogram writes <name>_bucket{...,le="<bound>"} with cumulative
 * counts up to le="+Inf" (which equals _count), then _sum and _count.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/internal.h"

static size_t copy(char *buf, const char *s)
{
    size_t n = strlen(s);
    memcpy(buf, s, n + 1);
    return n;
}

/*
 * As Prometheus' own clients write floats (Go's 'g' format, shortest
 * round-trip digits): plain decimals for exponents -4..5, otherwise
 * d.ddde+XX.  "0.1" not "0.10000000000000001", "1e+06", "NaN", "+Inf".
 */
size_t s6_metrics_format_double(double v, char *buf)
{
    if (isnan(v))
        return copy(buf, "NaN");
    if (isinf(v))
        return copy(buf, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return copy(buf, signbit(v) ? "-0" : "0");
    char e[S6_METRICS_FLOAT_LEN];
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(e, sizeof e, "%.*e", digits - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", digits - 1, v);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6)
        return copy(buf, e);
    int decimals = digits - 1 - exp;
    return (size_t)snprintf(buf, S6_METRICS_FLOAT_LEN, "%.*f",
                            decimals > 0 ? decimals : 0, v);
}

/* Escapes \ and newline, and " too when quote is set (label values). */
static int put_escaped(s6_buf *out, const char *s, bool quote)
{
    int rc = 0;
    const char *run = s;
    for (const char *p = s; *p && rc == 0; p++) {
        const char *esc = *p == '\\' ? "\\\\"
                        : *p == '\n' ? "\\n"
                        : (*p == '"' && quote) ? "\\\""
                        : NULL;
        if (esc == NULL)
            continue;
        rc = s6_buf_append(out, run, (size_t)(p - run));
        if (rc == 0)
            rc = s6_buf_puts(out, esc);
        run = p + 1;
    }
    return rc ? rc : s6_buf_puts(out, run);
}

static int put_double(s6_buf *out, double v)
{
    char num[S6_METRICS_FLOAT_LEN];
    size_t n = s6_metrics_format_double(v, num);
    return s6_buf_append(out, num, n);
}

/* name{labels[,le="..."]} value\n — le is NULL outside histogram buckets. */
static int put_sample(s6_buf *out, const s6_metric *f, const char *suffix,
                      const series *s, const char *le, double value)
{
    int rc = s6_buf_printf(out, "%s%s", f->name, suffix);
    bool braces = f->n_labels > 0 || le != NULL;
    if (rc == 0 && braces)
        rc = s6_buf_puts(out, "{");
    for (size_t i = 0; i < f->n_labels && rc == 0; i++) {
        rc = s6_buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        if (rc == 0)
            rc = put_escaped(out, s->values[i], true);
        if (rc == 0)
            rc = s6_buf_puts(out, "\"");
    }
    if (rc == 0 && le != NULL)
        rc = s6_buf_printf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    if (rc == 0 && braces)
        rc = s6_buf_puts(out, "}");
    if (rc == 0)
        rc = s6_buf_puts(out, " ");
    if (rc == 0)
        rc = put_double(out, value);
    return rc ? rc : s6_buf_puts(out, "\n");
}

static int put_histogram(s6_buf *out, const s6_metric *f, const series *s)
{
    uint64_t cumulative = 0;
    int rc = 0;
    for (size_t i = 0; i <= f->n_bounds && rc == 0; i++) {
        char le[S6_METRICS_FLOAT_LEN];
        s6_metrics_format_double(i < f->n_bounds ? f->bounds[i] : INFINITY, le);
        cumulative += s->buckets[i];
        rc = put_sample(out, f, "_bucket", s, le, (double)cumulative);
    }
    if (rc == 0)
        rc = put_sample(out, f, "_sum", s, NULL, s->value);
    if (rc == 0)
        rc = put_sample(out, f, "_count", s, NULL, (double)s->count);
    return rc;
}

static int put_family(s6_buf *out, const s6_metric *f, uint64_t round)
{
    int rc = s6_buf_printf(out, "# HELP %s ", f->name);
    if (rc == 0)
        rc = put_escaped(out, f->help, false);
    if (rc == 0)
        rc = s6_buf_printf(out, "\n# TYPE %s %s\n", f->name, s6__type_name(f->type));
    for (const series *s = f->head; s && rc == 0; s = s->next) {
        if (f->collected && s->seen != round)
            continue; /* not reported by this render's collectors */
        rc = f->type == S6_METRIC_HISTOGRAM ? put_histogram(out, f, s)
                                            : put_sample(out, f, "", s, NULL, s->value);
    }
    return rc;
}

int s6_metrics_render(s6_metrics *m, s6_buf *out)
{
    size_t mark = out->len;
    m->round++;
    m->collecting = true;
    for (size_t i = 0; i < m->n_collectors; i++)
        if (m->collectors[i].fn(m, m->collectors[i].ud) < 0)
            s6_counter_inc(m->collector_errors);
    m->collecting = false;
    int rc = 0;
    for (const s6_metric *f = m->head; f && rc == 0; f = f->next)
        rc = put_family(out, f, m->round);
    if (rc < 0) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
        return s6__fail(m, rc, "render: out of memory");
    }
    return 0;
}
