/* The independent exposition checker (expo_check.h). */
#include "expo_check.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FAMILIES = 128, MAX_SERIES = 4096, MAX_GROUPS = 1024, KEY = 512, BIG = 2048 };

typedef struct family {
    char name[KEY];
    char type[16];    /* "" until # TYPE */
    bool help;
    bool sampled;     /* a sample was seen: HELP/TYPE may not follow */
    bool closed;      /* another family's line followed its group */
} family;

typedef struct hgroup {  /* one histogram series: labels without le */
    char key[BIG];
    double last_le, last_count, inf_count, count;
    bool has_bucket, has_inf, has_sum, has_count;
} hgroup;

typedef struct checker {
    family fam[MAX_FAMILIES];
    size_t n_fam;
    char (*series)[BIG];
    size_t n_series;
    hgroup *groups;
    size_t n_groups;
    family *current;
    int line;
    char *err;
    size_t errlen;
} checker;

static int bad(checker *c, const char *fmt, ...)
{
    int n = snprintf(c->err, c->errlen, "line %d: ", c->line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Formats into dst, refusing (not truncating) what does not fit: a cut key
 * could make two series look alike. */
static int fit(checker *c, char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fit(checker *c, char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap ? 0 : bad(c, "text too long for the checker");
}

static bool name_start(char ch, bool colon)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (colon && ch == ':');
}

/* Reads [a-zA-Z_:][a-zA-Z0-9_:]* (no colon for labels) into out. */
static const char *read_name(const char *p, bool colon, char *out)
{
    size_t n = 0;
    if (!name_start(*p, colon))
        return NULL;
    while (name_start(*p, colon) || (*p >= '0' && *p <= '9')) {
        if (n + 1 >= KEY)
            return NULL;
        out[n++] = *p++;
    }
    out[n] = '\0';
    return p;
}

static bool digits(const char **p)
{
    const char *s = *p;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return *p > s;
}

/* The float grammar above; the whole token, nothing else. */
static bool parse_float(const char *tok, double *out)
{
    if (strcmp(tok, "NaN") == 0)
        return *out = NAN, true;
    if (strcmp(tok, "+Inf") == 0)
        return *out = INFINITY, true;
    if (strcmp(tok, "-Inf") == 0)
        return *out = -INFINITY, true;
    const char *p = tok;
    if (*p == '+' || *p == '-')
        p++;
    bool whole = digits(&p), frac = false;
    if (*p == '.') {
        p++;
        frac = digits(&p);
    }
    if (!whole && !frac)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!digits(&p))
            return false;
    }
    if (*p != '\0')
        return false;
    *out = strtod(tok, NULL);
    return true;
}

/* Unescapes text up to the end of line (help) or the closing quote (label
 * value) into out; returns the position after it. */
static const char *read_escaped(checker *c, const char *p, bool quoted, char *out)
{
    size_t n = 0;
    for (;;) {
        char ch = *p;
        if (ch == '\0' || ch == '\n') {
            if (quoted) {
                bad(c, "label value not closed");
                return NULL;
            }
            break;
        }
        if (quoted && ch == '"')
            return out[n] = '\0', p + 1;
        if (ch == '\\') {
            char e = p[1];
            if (e == 'n')
                ch = '\n';
            else if (e == '\\' || (quoted && e == '"'))
                ch = e;
            else {
                bad(c, "bad escape \\%c", e ? e : '0');
                return NULL;
            }
            p++;
        }
        if (n + 1 >= KEY) {
            bad(c, "text too long for the checker");
            return NULL;
        }
        out[n++] = ch;
        p++;
    }
    out[n] = '\0';
    return p;
}

static family *find_family(checker *c, const char *name)
{
    for (size_t i = 0; i < c->n_fam; i++)
        if (strcmp(c->fam[i].name, name) == 0)
            return &c->fam[i];
    return NULL;
}

/* Switching to family f: the one before is done for good. */
static int enter(checker *c, family *f)
{
    if (f->closed)
        return bad(c, "%s: its lines are not in one group", f->name);
    if (c->current && c->current != f)
        c->current->closed = true;
    c->current = f;
    return 0;
}

static int meta_line(checker *c, const char *p)
{
    bool help = strncmp(p, "# HELP ", 7) == 0;
    if (!help && strncmp(p, "# TYPE ", 7) != 0)
        return bad(c, "a comment line other than HELP or TYPE");
    char name[KEY], text[KEY];
    p = read_name(p + 7, true, name);
    if (p == NULL || *p != ' ')
        return bad(c, "bad metric name after # %s", help ? "HELP" : "TYPE");
    family *f = find_family(c, name);
    if (f == NULL) {
        if (c->n_fam == MAX_FAMILIES)
            return bad(c, "too many families for the checker");
        f = &c->fam[c->n_fam++];
        snprintf(f->name, sizeof f->name, "%s", name);
    }
    if (enter(c, f) < 0)
        return -1;
    if (f->sampled)
        return bad(c, "%s: # %s after its samples", name, help ? "HELP" : "TYPE");
    if (help) {
        if (f->help)
            return bad(c, "%s: second # HELP", name);
        f->help = true;
        return read_escaped(c, p + 1, false, text) ? 0 : -1;
    }
    if (f->type[0])
        return bad(c, "%s: second # TYPE", name);
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    for (size_t i = 0; i < 5; i++)
        if (strcmp(p + 1, types[i]) == 0)
            return snprintf(f->type, sizeof f->type, "%s", types[i]), 0;
    return bad(c, "%s: unknown type \"%s\"", name, p + 1);
}

/* The family a sample name belongs to, and the histogram suffix if any. */
static family *owner(checker *c, const char *name, const char **suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    *suffix = "";
    family *f = find_family(c, name);
    if (f && strcmp(f->type, "histogram") != 0)
        return f;
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);
        if (n > k && strcmp(name + n - k, sfx[i]) == 0) {
            char base[KEY];
            snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
            family *h = find_family(c, base);
            if (h && strcmp(h->type, "histogram") == 0) {
                *suffix = sfx[i];
                return h;
            }
        }
    }
    return f;
}

static hgroup *group(checker *c, const char *key)
{
    for (size_t i = 0; i < c->n_groups; i++)
        if (strcmp(c->groups[i].key, key) == 0)
            return &c->groups[i];
    if (c->n_groups == MAX_GROUPS)
        return NULL;
    hgroup *g = &c->groups[c->n_groups++];
    memset(g, 0, sizeof *g);
    snprintf(g->key, sizeof g->key, "%s", key);
    g->last_le = -INFINITY;
    return g;
}

static int histogram_sample(checker *c, family *f, const char *suffix,
                            const char *labels_wo_le, const char *le, double v)
{
    char key[BIG];
    if (fit(c, key, sizeof key, "%s{%s}", f->name, labels_wo_le) < 0)
        return -1;
    hgroup *g = group(c, key);
    if (g == NULL)
        return bad(c, "too many histogram series for the checker");
    if (strcmp(suffix, "_bucket") != 0) {
        if (le)
            return bad(c, "%s%s carries le", f->name, suffix);
        bool *has = strcmp(suffix, "_sum") == 0 ? &g->has_sum : &g->has_count;
        *has = true;
        if (strcmp(suffix, "_count") == 0)
            g->count = v;
        return 0;
    }
    double bound;
    if (le == NULL || !parse_float(le, &bound))
        return bad(c, "%s_bucket without a valid le", f->name);
    if (g->has_inf || !(bound > g->last_le))
        return bad(c, "%s: le=\"%s\" not above the bucket before", key, le);
    if (g->has_bucket && v < g->last_count)
        return bad(c, "%s: bucket counts not cumulative", key);
    g->has_bucket = true;
    g->last_le = bound;
    g->last_count = v;
    if (isinf(bound))
        g->has_inf = true, g->inf_count = v;
    return 0;
}

static int remember_series(checker *c, const char *key)
{
    for (size_t i = 0; i < c->n_series; i++)
        if (strcmp(c->series[i], key) == 0)
            return bad(c, "series %s appears twice", key);
    if (c->n_series == MAX_SERIES)
        return bad(c, "too many series for the checker");
    return fit(c, c->series[c->n_series++], BIG, "%s", key);
}

/* name{labels} value [timestamp] */
static int sample_line(checker *c, const char *p)
{
    char name[KEY], lname[KEY], lval[KEY];
    char seen[BIG] = ",", wo_le[BIG] = "", le[KEY];
    bool has_le = false;
    p = read_name(p, true, name);
    if (p == NULL)
        return bad(c, "bad metric name");
    if (*p == '{') {
        p++;
        while (*p != '}') {
            p = read_name(p, false, lname);
            if (p == NULL || strncmp(lname, "__", 2) == 0)
                return bad(c, "%s: bad label name", name);
            if (p[0] != '=' || p[1] != '"')
                return bad(c, "%s: label %s: expected =\"", name, lname);
            p = read_escaped(c, p + 2, true, lval);
            if (p == NULL)
                return -1;
            char probe[KEY + 2];
            if (fit(c, probe, sizeof probe, ",%s,", lname) < 0)
                return -1;
            if (strstr(seen, probe))
                return bad(c, "%s: label %s twice", name, lname);
            size_t n = strlen(seen);
            if (fit(c, seen + n, sizeof seen - n, "%s,", lname) < 0)
                return -1;
            if (strcmp(lname, "le") == 0) {
                has_le = true;
                memcpy(le, lval, sizeof le);
            } else {
                n = strlen(wo_le);
                if (fit(c, wo_le + n, sizeof wo_le - n, "%s=\"%s\",", lname, lval) < 0)
                    return -1;
            }
            if (*p == ',')
                p++;
            else if (*p != '}')
                return bad(c, "%s: expected , or } after a label", name);
        }
        p++;
    }
    if (*p != ' ')
        return bad(c, "%s: expected one space before the value", name);
    char tok[64];
    const char *end = strchr(p + 1, ' ');
    size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);
    if (len == 0 || len >= sizeof tok)
        return bad(c, "%s: value missing or too long", name);
    memcpy(tok, p + 1, len);
    tok[len] = '\0';
    double v;
    if (!parse_float(tok, &v))
        return bad(c, "%s: \"%s\" is not a Prometheus float", name, tok);
    if (end) {
        const char *t = end + 1;
        if (*t == '-')
            t++;
        if (!digits(&t) || *t != '\0')
            return bad(c, "%s: bad timestamp", name);
    }
    const char *suffix;
    family *f = owner(c, name, &suffix);
    if (f == NULL || f->type[0] == '\0')
        return bad(c, "%s: sample of a family without # TYPE", name);
    if (enter(c, f) < 0)
        return -1;
    f->sampled = true;
    if (strcmp(f->type, "counter") == 0 && !(v >= 0) && !isnan(v))
        return bad(c, "%s: counter is negative", name);
    char key[BIG];
    if (fit(c, key, sizeof key, "%s{%sle=%s}", name, wo_le, has_le ? le : "") < 0 ||
        remember_series(c, key) < 0)
        return -1;
    if (strcmp(f->type, "histogram") == 0 && suffix[0] == '\0')
        return bad(c, "%s: a histogram sample needs _bucket, _sum or _count", name);
    if (strcmp(f->type, "histogram") == 0)
        return histogram_sample(c, f, suffix, wo_le, has_le ? le : NULL, v);
    return 0;
}

static int finish(checker *c)
{
    for (size_t i = 0; i < c->n_groups; i++) {
        hgroup *g = &c->groups[i];
        if (!g->has_inf)
            return bad(c, "%s: no le=\"+Inf\" bucket", g->key);
        if (!g->has_sum || !g->has_count)
            return bad(c, "%s: _sum or _count missing", g->key);
        if (g->count != g->inf_count)
            return bad(c, "%s: _count %g is not the +Inf bucket %g", g->key, g->count,
                       g->inf_count);
    }
    return 0;
}

int expo_check(const char *text, char *err, size_t errlen)
{
    checker *c = calloc(1, sizeof *c);
    c->series = calloc(MAX_SERIES, BIG);
    c->groups = calloc(MAX_GROUPS, sizeof *c->groups);
    c->err = err;
    c->errlen = errlen;
    err[0] = '\0';
    int rc = 0;
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] != '\n')
        rc = bad(c, "text does not end in a newline");
    for (const char *p = text; rc == 0 && *p;) {
        c->line++;
        const char *nl = strchr(p, '\n');
        size_t len = (size_t)(nl - p);
        char *line = malloc(len + 1);
        memcpy(line, p, len);
        line[len] = '\0';
        if (len == 0)
            rc = bad(c, "empty line");
        else
            rc = line[0] == '#' ? meta_line(c, line) : sample_line(c, line);
        free(line);
        p = nl + 1;
    }
    if (rc == 0)
        rc = finish(c);
    free(c->series);
    free(c->groups);
    free(c);
    return rc;
}
