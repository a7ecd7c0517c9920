/*
 * prices.c — reading price files.  Every line is checked before the file
 * is accepted; the first problem is reported with its line number.
 */
#define _GNU_SOURCE /* timegm */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay/prices.h"
#include "util/text_file.h"
#include "contract/names.h"

enum { COL_TIME, COL_OPEN, COL_HIGH, COL_LOW, COL_CLOSE, COL_MARK,
       COL_SIGNAL, NCOLS };
static const char *const col_names[NCOLS] = { "time", "open", "high", "low",
                                              "close", "mark", "signal" };
enum { MAX_FIELDS = 16 };

typedef struct parser {
    const char *name;
    size_t line;
    char *err;
    size_t errlen;
    int col_of[NCOLS];   /* field index of each column, -1 absent */
    int nfields;
    s6_price_series *s;
    size_t cap;
} parser;

static int fail(const parser *p, const char *fmt, ...)
{
    char why[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (p->line > 0)
        snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, p->line, why);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->name, why);
    return -EINVAL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Splits line in place at commas. */
static int split(char *line, char **f)
{
    int n = 0;
    for (char *s = line;; n++) {
        char *c = strchr(s, ',');
        if (n < MAX_FIELDS)
            f[n] = trim(s);
        if (c == NULL)
            return n + 1;
        *c = '\0';
        s = c + 1;
    }
}

/* "symbol=BTCUSDT market=FUT" anywhere in a comment. */
static int comment(parser *p, const char *text)
{
    const char *v = strstr(text, "symbol=");
    if (v != NULL) {
        size_t n = strcspn(v + 7, " \t,;");
        if (n == 0 || n > S6_SYMBOL_MAX)
            return fail(p, "symbol= must name 1 to %d characters",
                        S6_SYMBOL_MAX);
        memcpy(p->s->symbol, v + 7, n);
        p->s->symbol[n] = '\0';
    }
    if ((v = strstr(text, "market=")) != NULL) {
        if ((p->s->market = s6_market_parse_prefix(v + 7)) < 0)
            return fail(p, "market= must be FUT or SPOT");
    }
    return 0;
}

static int header(parser *p, char **f, int n)
{
    if (n > MAX_FIELDS)
        return fail(p, "header: more than %d columns", MAX_FIELDS);
    for (int c = 0; c < NCOLS; c++)
        p->col_of[c] = -1;
    for (int i = 0; i < n; i++) {
        int c = 0;
        while (c < NCOLS && strcmp(f[i], col_names[c]) != 0)
            c++;
        if (c == NCOLS)
            return fail(p, "header: unknown column '%s' (expected time, "
                           "open, high, low, close[, mark][, signal])", f[i]);
        if (p->col_of[c] >= 0)
            return fail(p, "header: column '%s' twice", f[i]);
        p->col_of[c] = i;
    }
    for (int c = 0; c < COL_MARK; c++)
        if (p->col_of[c] < 0)
            return fail(p, "header: missing column '%s'", col_names[c]);
    p->nfields = n;
    p->s->has_mark = p->col_of[COL_MARK] >= 0;
    return 0;
}

/* strtod for the plain decimals price files are made of ("64250.1"),
 * without its cost on millions of lines: a mantissa of at most 2^53 over
 * a power of ten of at most 10^22 are both exact, so their quotient is the
 * correctly rounded value, the same double strtod gives (Clinger's fast
 * path).  Anything else (exponents, long mantissas, hex, inf) goes to
 * strtod itself. */
static double decimal(const char *s, char **end)
{
    static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
                                    1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
                                    1e22 };
    const char *c = s + (*s == '-' || *s == '+');
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (;; c++) {
        if (*c >= '0' && *c <= '9') {
            if (m > (UINT64_C(1) << 53) / 10)
                return strtod(s, end);
            m = m * 10 + (uint64_t)(*c - '0');
            digits++;
            frac += frac >= 0;
        } else if (*c == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (digits == 0 || m > (UINT64_C(1) << 53) || frac > 22 ||
        *c == 'e' || *c == 'E')
        return strtod(s, end);
    *end = (char *)c;
    double v = frac > 0 ? (double)m / pow10[frac] : (double)m;
    return *s == '-' ? -v : v;
}

/* Unix seconds, or RFC 3339 UTC with an optional fraction. */
static bool parse_time(const char *s, double *out)
{
    char *end;
    if (strchr(s, 'T') == NULL) {
        *out = decimal(s, &end);
        return end != s && *end == '\0' && isfinite(*out) && *out > 0;
    }
    struct tm tm = { 0 };
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return false;
    double frac = 0;
    const char *r = s + used;
    if (*r == '.') {
        frac = strtod(r, &end);
        r = end;
    }
    if (strcmp(r, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (double)timegm(&tm) + frac;
    return *out > 0;
}

static int price(parser *p, char **f, int c, double *out)
{
    const char *s = f[p->col_of[c]];
    char *end;
    double v = decimal(s, &end);
    if (*s == '\0')
        return fail(p, "column '%s' is empty", col_names[c]);
    if (end == s || *end != '\0')
        return fail(p, "column '%s': not a number ('%s')", col_names[c], s);
    if (!isfinite(v))
        return fail(p, "column '%s': not a finite number ('%s')",
                    col_names[c], s);
    if (v <= 0)
        return fail(p, "column '%s': price must be > 0 ('%s')",
                    col_names[c], s);
    *out = v;
    return 0;
}

static int push(parser *p, const s6_price_bar *b)
{
    if (p->s->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        s6_price_bar *v = realloc(p->s->bars, cap * sizeof *v);
        if (v == NULL)
            return fail(p, "out of memory");
        p->s->bars = v;
        p->cap = cap;
    }
    p->s->bars[p->s->n++] = *b;
    return 0;
}

static int row(parser *p, char **f, int n)
{
    if (n != p->nfields) {
        int missing = n < p->nfields ? n : -1;
        for (int c = 0; missing >= 0 && c < NCOLS; c++)
            if (p->col_of[c] == n)
                return fail(p, "%d columns, the header names %d: missing "
                               "column '%s'", n, p->nfields, col_names[c]);
        return fail(p, "%d columns, the header names %d", n, p->nfields);
    }
    s6_price_bar b = { .mark = NAN };
    if (!parse_time(f[p->col_of[COL_TIME]], &b.t))
        return fail(p, "column 'time': not Unix seconds > 0 or "
                       "YYYY-MM-DDTHH:MM:SSZ ('%s')", f[p->col_of[COL_TIME]]);
    int rc = price(p, f, COL_OPEN, &b.open);
    if (rc || (rc = price(p, f, COL_HIGH, &b.high)) ||
        (rc = price(p, f, COL_LOW, &b.low)) ||
        (rc = price(p, f, COL_CLOSE, &b.close)) ||
        (p->s->has_mark && (rc = price(p, f, COL_MARK, &b.mark))))
        return rc;
    if (p->col_of[COL_SIGNAL] >= 0) {
        const char *v = f[p->col_of[COL_SIGNAL]];
        if (strcmp(v, "1") && strcmp(v, "-1") && strcmp(v, "0") && *v)
            return fail(p, "column 'signal': must be 1, -1, 0 or empty "
                           "('%s')", v);
        b.signal = atoi(v);
    }
    if (b.high < fmax(b.open, b.close) || b.low > fmin(b.open, b.close) ||
        b.low > b.high)
        return fail(p, "not a bar: low %g, high %g must enclose open %g and "
                       "close %g", b.low, b.high, b.open, b.close);
    if (p->s->n > 0 && b.t <= p->s->bars[p->s->n - 1].t)
        return fail(p, "time %.17g is not after the previous line's %.17g "
                       "(times must increase)", b.t,
                    p->s->bars[p->s->n - 1].t);
    return push(p, &b);
}

static void default_symbol(s6_price_series *s, const char *name)
{
    size_t n = strcspn(name, "._");
    if (n > S6_SYMBOL_MAX)
        n = S6_SYMBOL_MAX;
    memcpy(s->symbol, name, n);
    s->symbol[n] = '\0';
}

/* Lines in the text: room for every bar at once, no copy as they come. */
static size_t count_lines(const char *text)
{
    size_t n = 1;
    for (const char *c = text; (c = strchr(c, '\n')) != NULL; c++)
        n++;
    return n;
}

/* Parses text, which it cuts into lines and fields as it goes. */
static int parse_owned(char *text, const char *name, s6_price_series *out,
                       char *err, size_t errlen)
{
    s6_price_series s = { .market = S6_MARKET_FUT };
    snprintf(s.name, sizeof s.name, "%s", name);
    default_symbol(&s, name);
    parser p = { .name = name, .err = err, .errlen = errlen, .s = &s };
    p.cap = count_lines(text);
    if ((s.bars = malloc(p.cap * sizeof *s.bars)) == NULL)
        return -ENOMEM;
    int rc = 0;
    bool have_header = false;
    char *save = NULL, *f[MAX_FIELDS];
    /* strtok_r would merge empty lines and so lose the line count. */
    for (char *line = text; rc == 0 && line != NULL; line = save) {
        p.line++;
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        char *t = trim(line);
        if (*t == '\0')
            continue;
        if (*t == '#')
            rc = comment(&p, t + 1);
        else if (!have_header) {
            rc = header(&p, f, split(t, f));
            have_header = true;
        } else
            rc = row(&p, f, split(t, f));
    }
    p.line = 0;
    if (rc == 0 && !have_header)
        rc = fail(&p, "no header line (time,open,high,low,close[,mark])");
    else if (rc == 0 && s.n == 0)
        rc = fail(&p, "no price lines");
    else if (rc == 0 && s.symbol[0] == '\0')
        rc = fail(&p, "no symbol: name it in a comment (symbol=...)");
    if (rc != 0) {
        free(s.bars);
        return rc;
    }
    *out = s;
    return 0;
}

int s6_prices_parse(const char *text, const char *name, s6_price_series *out,
                    char *err, size_t errlen)
{
    char *copy = strdup(text);
    if (copy == NULL)
        return -ENOMEM;
    int rc = parse_owned(copy, name, out, err, errlen);
    free(copy);
    return rc;
}

/* The whole file in one read: a year of bars is tens of megabytes. */
static int read_whole(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    long size = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0)
        rewind(f);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)size, f) : 0;
    if (f == NULL || text == NULL || got != (size_t)size) {
        snprintf(err, errlen, "%s: %s", path,
                 f == NULL || size < 0 ? strerror(errno) : "read error");
        if (f != NULL)
            fclose(f);
        free(text);
        return -EIO;
    }
    fclose(f);
    text[got] = '\0';
    if (memchr(text, '\0', got) != NULL) {
        snprintf(err, errlen, "%s: contains NUL bytes (not a text file)", path);
        free(text);
        return -EINVAL;
    }
    *out = text;
    return 0;
}

int s6_prices_load(const char *path, s6_price_series *out, char *err,
                   size_t errlen)
{
    char *text;
    int rc = read_whole(path, &text, err, errlen);
    if (rc != 0)
        return rc;
    rc = parse_owned(text, s6_base_name(path), out, err, errlen);
    free(text);
    return rc;
}

void s6_prices_free(s6_price_series *s)
{
    if (s == NULL)
        return;
    free(s->bars);
    s->bars = NULL;
    s->n = 0;
}
