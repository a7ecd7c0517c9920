#include "util/json_out.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void s6_jw_init(s6_jw *w, s6_buf *b)
{
    *w = (s6_jw){ .b = b };
}

int s6_jw_finish(const s6_jw *w)
{
    return w->err;
}

static void put(s6_jw *w, const char *p, size_t n)
{
    if (w->err == 0)
        w->err = s6_buf_append(w->b, p, n);
}

/* Before a value or a key: the comma that separates it from the last. */
static void sep(s6_jw *w)
{
    if (w->comma)
        put(w, ",", 1);
    w->comma = true;
}

static void begin(s6_jw *w, const char *c)
{
    sep(w);
    put(w, c, 1);
    w->comma = false;
}

static void end(s6_jw *w, const char *c)
{
    put(w, c, 1);
    w->comma = true;
}

void s6_jw_obj(s6_jw *w) { begin(w, "{"); }
void s6_jw_end_obj(s6_jw *w) { end(w, "}"); }
void s6_jw_arr(s6_jw *w) { begin(w, "["); }
void s6_jw_end_arr(s6_jw *w) { end(w, "]"); }

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is not one
 * jansson would hold: a stray continuation, an overlong form, a surrogate,
 * beyond U+10FFFF, or cut short. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3
             : c < 0xF5 ? 4 : 0;
    if (n <= 1)
        return n;
    uint32_t cp = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

/* The escape of a byte below 0x20, '"' or '\\' (NULL: none needed). */
static const char *escape_of(unsigned char c, char spare[7])
{
    static const char *const named[0x20] = {
        ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r",
        ['\t'] = "\\t",
    };
    if (c == '"')
        return "\\\"";
    if (c == '\\')
        return "\\\\";
    if (c >= 0x20)
        return NULL;
    if (named[c] != NULL)
        return named[c];
    snprintf(spare, 7, "\\u%04X", c);
    return spare;
}

static void string(s6_jw *w, const char *s)
{
    put(w, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0' && w->err == 0) {
        const unsigned char *run = p;
        size_t n;
        for (;;) { /* plain ASCII first: most text is nothing else */
            while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
                p++;
            if (*p < 0x80 || (n = utf8_len(p)) == 0)
                break;
            p += n;
        }
        put(w, (const char *)run, (size_t)(p - run));
        if (*p == '\0')
            break;
        char spare[7];
        const char *esc = escape_of(*p, spare);
        if (esc == NULL) { /* not UTF-8 */
            if (w->err == 0)
                w->err = -EILSEQ;
            break;
        }
        put(w, esc, strlen(esc));
        p++;
    }
    put(w, "\"", 1);
}

void s6_jw_key(s6_jw *w, const char *key)
{
    sep(w);
    string(w, key);
    put(w, ":", 1);
    w->comma = false;
}

void s6_jw_str(s6_jw *w, const char *s)
{
    if (s == NULL) {
        s6_jw_null(w);
        return;
    }
    sep(w);
    string(w, s);
}

void s6_jw_int(s6_jw *w, long long v)
{
    char t[24];
    char *e = t + sizeof t, *p = e;
    /* through unsigned, so LLONG_MIN has a magnitude */
    unsigned long long m = v < 0 ? 0ull - (unsigned long long)v
                                 : (unsigned long long)v;
    do {
        *--p = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (v < 0)
        *--p = '-';
    sep(w);
    put(w, p, (size_t)(e - p));
}

size_t s6_jw_real_text(char *out, size_t size, double v)
{
    if (!isfinite(v) || size < 32)
        return 0;
    size_t n = (size_t)snprintf(out, size, "%.17g", v);
    /* so that it reads back as a real, not an integer */
    if (strpbrk(out, ".e") == NULL) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    char *exp = strchr(out, 'e');
    if (exp != NULL) {
        char *digits = exp + 1 + (exp[1] == '-');
        char *from = exp + 1;
        while (*from == '+' || *from == '-' || (*from == '0' && from[1]))
            from++;
        memmove(digits, from, strlen(from) + 1);
        n = strlen(out);
    }
    return n;
}

void s6_jw_real(s6_jw *w, double v)
{
    char t[40];
    size_t n = s6_jw_real_text(t, sizeof t, v);
    if (n == 0) {
        s6_jw_null(w);
        return;
    }
    sep(w);
    put(w, t, n);
}

void s6_jw_bool(s6_jw *w, bool v)
{
    sep(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void s6_jw_null(s6_jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void s6_jw_part(s6_jw *w, const s6_jw *part)
{
    if (w->err == 0)
        w->err = part->err;
    if (part->b->len == 0 && w->err == 0)
        w->err = -EINVAL; /* no value at all */
    sep(w);
    put(w, part->b->data, part->b->len);
}

bool s6_jw_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;
    while (*p != '\0' && (n = utf8_len(p)) > 0)
        p += n;
    return *p == '\0';
}

static int dump_cb(const char *p, size_t n, void *ud)
{
    s6_jw *w = ud;
    put(w, p, n);
    return w->err == 0 ? 0 : -1;
}

void s6_jw_json(s6_jw *w, const json_t *v)
{
    if (v == NULL) {
        s6_jw_null(w);
        return;
    }
    sep(w);
    if (w->err == 0 &&
        json_dump_callback(v, dump_cb, w, JSON_COMPACT | JSON_ENCODE_ANY) != 0 &&
        w->err == 0)
        w->err = -EILSEQ;
}

json_t *s6_jw_parse(s6_buf *b, const s6_jw *w)
{
    json_t *doc = w->err == 0 && b->data != NULL
                      ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    s6_buf_free(b);
    return doc;
}

void s6_jw_kstr(s6_jw *w, const char *key, const char *s)
{
    s6_jw_key(w, key);
    s6_jw_str(w, s);
}

void s6_jw_kint(s6_jw *w, const char *key, long long v)
{
    s6_jw_key(w, key);
    s6_jw_int(w, v);
}

void s6_jw_kreal(s6_jw *w, const char *key, double v)
{
    s6_jw_key(w, key);
    s6_jw_real(w, v);
}

void s6_jw_kbool(s6_jw *w, const char *key, bool v)
{
    s6_jw_key(w, key);
    s6_jw_bool(w, v);
}

void s6_jw_knull(s6_jw *w, const char *key)
{
    s6_jw_key(w, key);
    s6_jw_null(w);
}

void s6_jw_kobj(s6_jw *w, const char *key)
{
    s6_jw_key(w, key);
    s6_jw_obj(w);
}

void s6_jw_karr(s6_jw *w, const char *key)
{
    s6_jw_key(w, key);
    s6_jw_arr(w);
}
