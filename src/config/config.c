/*
 * config.c — loading and validating the configuration.  The work is
 * table-driven: s6_config_keys says what each key is, the TYPES table below
 * says how a JSON value of each type is checked and stored, and CHECKS
 * holds the few rules that span several keys.  A document is refused on
 * the first problem, with the key's path and the reason; nothing is
 * stored anywhere until everything has passed.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "contract/names.h"

enum { PATH_MAX_LEN = 160 };

/* snprintf where cutting a long name short is acceptable (messages, key
 * paths of absurd documents). */
static void textf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void textf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

static int fail(s6_config_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(s6_config_error *err, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    snprintf(err->path, sizeof err->path, "%s", path ? path : "");
    textf(err->message, sizeof err->message, "%s: %s%s%s", err->file,
             err->path, err->path[0] ? ": " : "", err->reason);
    return -EINVAL;
}

static void err_begin(s6_config_error *err, const char *name)
{
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", name ? name : "config");
}

/* ---- dotted paths ---- */

json_t *s6__config_get(json_t *root, const char *path)
{
    char seg[PATH_MAX_LEN];
    json_t *cur = root;
    while (cur != NULL && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg || !json_is_object(cur))
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        cur = json_object_get(cur, seg);
        path += n + (path[n] == '.');
    }
    return cur;
}

int s6__config_set(json_t *root, const char *path, json_t *v)
{
    char seg[PATH_MAX_LEN];
    json_t *cur = root;
    for (;;) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg || !json_is_object(cur)) {
            json_decref(v);
            return -EINVAL;
        }
        memcpy(seg, path, n);
        seg[n] = '\0';
        if (path[n] == '\0')
            return json_object_set_new(cur, seg, v) == 0 ? 0 : -ENOMEM;
        json_t *next = json_object_get(cur, seg);
        if (next == NULL) {
            next = json_object();
            if (json_object_set_new(cur, seg, next) != 0) {
                json_decref(v);
                return -ENOMEM;
            }
        }
        cur = next;
        path += n + 1;
    }
}

/* Segment-wise match where '*' in the pattern matches any one segment.
 * prefix: also true when path is a whole-segment prefix of the pattern. */
static bool path_match(const char *pat, const char *path, bool prefix)
{
    for (;;) {
        size_t np = strcspn(pat, "."), nq = strcspn(path, ".");
        if (!(np == 1 && pat[0] == '*') &&
            (np != nq || memcmp(pat, path, np) != 0))
            return false;
        pat += np;
        path += nq;
        if (*path == '\0')
            return *pat == '\0' || (prefix && *pat == '.');
        if (*pat == '\0')
            return false;
        pat++;
        path++;
    }
}

static const s6_cfg_key *key_for(const char *path, bool prefix)
{
    for (size_t i = 0; i < s6_config_nkeys; i++)
        if (path_match(s6_config_keys[i].path, path, prefix))
            return &s6_config_keys[i];
    return NULL;
}

/* ---- one value of each type ---- */

typedef int (*decode_fn)(const s6_cfg_key *k, json_t *v, void *dst,
                         const char *path, s6_config_error *err);
typedef void (*free_fn)(void *dst);

static int in_range(const s6_cfg_key *k, double d, const char *path,
                    s6_config_error *err)
{
    bool low = (k->flags & S6_CK_GT_MIN) ? d <= k->min : d < k->min;
    if (!isfinite(d) || low || d > k->max)
        return fail(err, path, "must be %s %.15g and <= %.15g (got %.17g)",
                    (k->flags & S6_CK_GT_MIN) ? ">" : ">=", k->min, k->max,
                    d);
    return 0;
}

static int dec_bool(const s6_cfg_key *k, json_t *v, void *dst,
                    const char *path, s6_config_error *err)
{
    (void)k;
    if (!json_is_boolean(v))
        return fail(err, path, "must be true or false");
    *(bool *)dst = json_is_true(v);
    return 0;
}

static int dec_u32(const s6_cfg_key *k, json_t *v, void *dst,
                   const char *path, s6_config_error *err)
{
    if (!json_is_integer(v))
        return fail(err, path, "must be an integer");
    json_int_t i = json_integer_value(v);
    if (i < (json_int_t)k->min || i > (json_int_t)k->max)
        return fail(err, path, "must be between %.15g and %.15g%s%s (got %lld)",
                    k->min, k->max, k->unit[0] ? " " : "", k->unit,
                    (long long)i);
    *(uint32_t *)dst = (uint32_t)i;
    return 0;
}

static int dec_num(const s6_cfg_key *k, json_t *v, void *dst,
                   const char *path, s6_config_error *err)
{
    if (!json_is_number(v))
        return fail(err, path, "must be a number");
    double d = json_number_value(v);
    int rc = in_range(k, d, path, err);
    if (rc == 0)
        *(double *)dst = d;
    return rc;
}

static int dec_optnum(const s6_cfg_key *k, json_t *v, void *dst,
                      const char *path, s6_config_error *err)
{
    s6_opt_num *o = dst;
    if (json_is_null(v)) {
        *o = (s6_opt_num){ 0 };
        return 0;
    }
    if (!json_is_number(v))
        return fail(err, path, "must be a number or null");
    int rc = dec_num(k, v, &o->v, path, err);
    o->set = rc == 0;
    return rc;
}

/* A string without NUL, its length in [min, max]; *out borrowed. */
static int plain_string(const s6_cfg_key *k, json_t *v, const char **out,
                        const char *path, s6_config_error *err)
{
    if (!json_is_string(v))
        return fail(err, path, "must be a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n)
        return fail(err, path, "must not contain NUL characters");
    if (n < (size_t)k->min || n > (size_t)k->max)
        return fail(err, path, "length must be between %g and %g (got %zu)",
                    k->min, k->max, n);
    *out = s;
    return 0;
}

static int store_string(const char *s, void *dst)
{
    char *copy = strdup(s);
    if (copy == NULL)
        return -ENOMEM;
    *(char **)dst = copy;
    return 0;
}

static int dec_str(const s6_cfg_key *k, json_t *v, void *dst,
                   const char *path, s6_config_error *err)
{
    const char *s = NULL; /* set by plain_string when it returns 0 */
    int rc = plain_string(k, v, &s, path, err);
    return rc != 0 ? rc : store_string(s, dst);
}

/* Is `word` one of the '|'-separated names of `list`?  Returns its index. */
static int list_index(const char *list, const char *word, size_t n)
{
    int i = 0;
    for (const char *p = list; *p; i++) {
        size_t m = strcspn(p, "|");
        if (m == n && memcmp(p, word, n) == 0)
            return i;
        p += m + (p[m] == '|');
    }
    return -1;
}

/* scheme://host[:port][/rest], host of [A-Za-z0-9.-] or [v6]; unix:/path. */
static const char *url_problem(const char *s, const char *schemes)
{
    size_t ns = strcspn(s, ":");
    if (s[ns] != ':' || list_index(schemes, s, ns) < 0)
        return "scheme not allowed";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return "contains spaces or control characters";
    if (strncmp(s, "unix:", 5) == 0)
        return s[5] == '/' ? NULL : "unix: needs an absolute socket path";
    if (strncmp(s + ns, "://", 3) != 0)
        return "missing \"://\"";
    const char *h = s + ns + 3, *end = h + strcspn(h, "/?#");
    const char *at = memchr(h, '@', (size_t)(end - h));
    if (at != NULL)
        h = at + 1; /* user:password@ is allowed (Redis AUTH) */
    const char *colon = h;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (rb == NULL || rb == h + 1)
            return "bad IPv6 host";
        colon = rb + 1;
    } else {
        size_t nh = strspn(h, "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
        if (nh == 0)
            return "missing host";
        colon = h + nh;
    }
    if (colon == end)
        return NULL;
    if (*colon != ':')
        return "bad character in host";
    char *pe;
    errno = 0;
    long port = strtol(colon + 1, &pe, 10);
    if (pe == colon + 1 || pe != end || errno != 0 || port < 1 || port > 65535)
        return "port must be 1..65535";
    return NULL;
}

/* A name or an address to listen on: DNS names, IPv4, IPv6 (no brackets). */
static int dec_host(const s6_cfg_key *k, json_t *v, void *dst,
                    const char *path, s6_config_error *err)
{
    const char *s = NULL; /* set by plain_string when it returns 0 */
    int rc = plain_string(k, v, &s, path, err);
    if (rc != 0)
        return rc;
    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789.-:") != strlen(s))
        return fail(err, path, "not a host name or IP address: \"%s\"", s);
    return store_string(s, dst);
}

static int dec_url(const s6_cfg_key *k, json_t *v, void *dst,
                   const char *path, s6_config_error *err)
{
    const char *s = NULL; /* set by plain_string when it returns 0 */
    int rc = plain_string(k, v, &s, path, err);
    if (rc != 0)
        return rc;
    const char *why = url_problem(s, k->arg);
    if (why != NULL)
        return fail(err, path, "not a valid URL (%s; schemes: %s): \"%s\"",
                    why, k->arg, s);
    return store_string(s, dst);
}

static bool name_ok(const char *s, const char *first, const char *rest)
{
    if (*s == '\0' || strchr(first, *s) == NULL)
        return false;
    return strspn(s, rest) == strlen(s);
}

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"

static int dec_envname(const s6_cfg_key *k, json_t *v, void *dst,
                       const char *path, s6_config_error *err)
{
    const char *s = NULL; /* set by plain_string when it returns 0 */
    int rc = plain_string(k, v, &s, path, err);
    if (rc != 0)
        return rc;
    if (*s && !name_ok(s, UPPER "_", UPPER DIGIT "_"))
        return fail(err, path, "not an environment variable name "
                    "([A-Z_][A-Z0-9_]*): \"%s\"", s);
    return store_string(s, dst);
}

static int dec_enum(const s6_cfg_key *k, json_t *v, void *dst,
                    const char *path, s6_config_error *err)
{
    int i = json_is_string(v) ? list_index(k->arg, json_string_value(v),
                                           json_string_length(v))
                              : -1;
    if (i < 0)
        return fail(err, path, "must be one of %s", k->arg);
    *(int *)dst = i;
    return 0;
}

static void free_str(void *dst)
{
    free(*(char **)dst);
    *(char **)dst = NULL;
}

/* rules.regimes: unique lower-case names. */
static int dec_strlist(const s6_cfg_key *k, json_t *v, void *dst,
                       const char *path, s6_config_error *err)
{
    if (!json_is_array(v))
        return fail(err, path, "must be an array of names");
    size_t n = json_array_size(v);
    if (n < (size_t)k->min || n > (size_t)k->max)
        return fail(err, path, "must have %g to %g entries (has %zu)", k->min,
                    k->max, n);
    char p[PATH_MAX_LEN];
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        textf(p, sizeof p, "%s[%zu]", path, i);
        if (!json_is_string(e) ||
            !name_ok(json_string_value(e), LOWER, LOWER DIGIT "_") ||
            json_string_length(e) > 32)
            return fail(err, p, "must be a name of a-z, 0-9, _ (1-32)");
        for (size_t j = 0; j < i; j++)
            if (json_equal(e, json_array_get(v, j)))
                return fail(err, p, "duplicate \"%s\"", json_string_value(e));
    }
    s6_str_list *l = dst;
    l->v = calloc(n, sizeof *l->v);
    if (l->v == NULL)
        return -ENOMEM;
    for (l->n = 0; l->n < n; l->n++)
        if (store_string(json_string_value(json_array_get(v, l->n)),
                         &l->v[l->n]) != 0)
            return -ENOMEM;
    return 0;
}

static void free_strlist(void *dst)
{
    s6_str_list *l = dst;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (s6_str_list){ 0 };
}

/* {"base": {...}, "regimes": {"<name>": {...}}}: the shape the rule host
 * takes; the parameters themselves are the rule's to check when it loads. */
static int params_shape(json_t *v, const char *path, s6_config_error *err)
{
    char p[PATH_MAX_LEN];
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return fail(err, path, "must be an object {\"base\", \"regimes\"}");
    json_object_foreach(v, key, val) {
        textf(p, sizeof p, "%s.%s", path, key);
        if (strcmp(key, "base") != 0 && strcmp(key, "regimes") != 0)
            return fail(err, p, "unknown key (expected base or regimes)");
        if (!json_is_object(val))
            return fail(err, p, "must be an object");
    }
    json_t *reg = json_object_get(v, "regimes");
    json_object_foreach(reg, key, val) {
        textf(p, sizeof p, "%s.regimes.%s", path, key);
        if (!json_is_object(val))
            return fail(err, p, "must be an object of parameters");
    }
    return 0;
}

static int dec_params(const s6_cfg_key *k, json_t *v, void *dst,
                      const char *path, s6_config_error *err)
{
    (void)k;
    if (!json_is_object(v))
        return fail(err, path, "must be an object keyed by rule name");
    char p[PATH_MAX_LEN];
    const char *rule;
    json_t *val;
    json_object_foreach(v, rule, val) {
        textf(p, sizeof p, "%s.%s", path, rule);
        if (!name_ok(rule, LOWER, LOWER DIGIT "_") || strlen(rule) > 63)
            return fail(err, p, "rule names are a-z, 0-9, _ (1-63)");
        int rc = params_shape(val, p, err);
        if (rc != 0)
            return rc;
    }
    s6_rule_params_list *l = dst;
    l->v = calloc(json_object_size(v) + 1, sizeof *l->v);
    if (l->v == NULL)
        return -ENOMEM;
    json_object_foreach(v, rule, val) {
        s6_rule_params_cfg *e = &l->v[l->n++];
        e->rule = strdup(rule);
        e->params_json = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS);
        if (e->rule == NULL || e->params_json == NULL)
            return -ENOMEM;
    }
    return 0;
}

static void free_params(void *dst)
{
    s6_rule_params_list *l = dst;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].rule);
        free(l->v[i].params_json);
    }
    free(l->v);
    *l = (s6_rule_params_list){ 0 };
}

/* One bracket's four numbers, each once, nothing else. */
static const struct {
    const char *name;
    size_t off;
} BRACKET_FIELDS[] = {
    { "notional_floor", offsetof(s6_mm_bracket, notional_floor) },
    { "notional_cap", offsetof(s6_mm_bracket, notional_cap) },
    { "mmr", offsetof(s6_mm_bracket, mmr) },
    { "cum", offsetof(s6_mm_bracket, cum) },
};
enum { N_BRACKET_FIELDS = sizeof BRACKET_FIELDS / sizeof BRACKET_FIELDS[0] };

static int bracket_read(json_t *o, s6_mm_bracket *b, const char *path,
                        s6_config_error *err)
{
    char p[PATH_MAX_LEN];
    if (!json_is_object(o))
        return fail(err, path, "must be an object {notional_floor, "
                    "notional_cap, mmr, cum}");
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        size_t f = 0;
        while (f < N_BRACKET_FIELDS && strcmp(BRACKET_FIELDS[f].name, key))
            f++;
        textf(p, sizeof p, "%s.%s", path, key);
        if (f == N_BRACKET_FIELDS)
            return fail(err, p, "unknown key");
        if (!json_is_number(val) || !isfinite(json_number_value(val)))
            return fail(err, p, "must be a number");
        *(double *)((char *)b + BRACKET_FIELDS[f].off) =
            json_number_value(val);
    }
    for (size_t f = 0; f < N_BRACKET_FIELDS; f++)
        if (json_object_get(o, BRACKET_FIELDS[f].name) == NULL) {
            textf(p, sizeof p, "%s.%s", path, BRACKET_FIELDS[f].name);
            return fail(err, p, "required");
        }
    return 0;
}

/* Binance's tables: contiguous from 0, the rate never falls, and cum is
 * what keeps the maintenance margin continuous at each floor. */
static int bracket_check(const s6_mm_bracket *b, size_t i, const char *path,
                         s6_config_error *err)
{
    const s6_mm_bracket *prev = i > 0 ? &b[i - 1] : NULL;
    double floor0 = prev ? prev->notional_cap : 0.0;
    if (b[i].notional_floor != floor0)
        return fail(err, path, "notional_floor must be %.17g (%s), got %.17g",
                    floor0, prev ? "the previous notional_cap: brackets are "
                    "sorted and contiguous" : "the first bracket starts at 0",
                    b[i].notional_floor);
    if (!(b[i].notional_cap > b[i].notional_floor))
        return fail(err, path, "notional_cap must be > notional_floor");
    if (!(b[i].mmr > 0 && b[i].mmr < 1))
        return fail(err, path, "mmr must be in (0, 1)");
    if (prev && b[i].mmr < prev->mmr)
        return fail(err, path, "mmr must not fall from one bracket to the next");
    double cum = prev ? prev->cum + b[i].notional_floor * (b[i].mmr - prev->mmr)
                      : 0.0;
    if (fabs(b[i].cum - cum) > 1e-6 * fmax(1.0, fabs(cum)))
        return fail(err, path, "cum must be %.10g (previous cum + "
                    "notional_floor * (mmr - previous mmr)), got %.10g", cum,
                    b[i].cum);
    return 0;
}

static int dec_brackets(const s6_cfg_key *k, json_t *v, void *dst,
                        const char *path, s6_config_error *err)
{
    if (!json_is_array(v))
        return fail(err, path, "must be an array of brackets");
    size_t n = json_array_size(v);
    if (n > (size_t)k->max)
        return fail(err, path, "at most %g brackets (has %zu)", k->max, n);
    s6_mm_bracket *b = calloc(n + 1, sizeof *b);
    if (b == NULL)
        return -ENOMEM;
    char p[PATH_MAX_LEN];
    for (size_t i = 0; i < n; i++) {
        textf(p, sizeof p, "%s[%zu]", path, i);
        int rc = bracket_read(json_array_get(v, i), &b[i], p, err);
        if (rc == 0)
            rc = bracket_check(b, i, p, err);
        if (rc != 0) {
            free(b);
            return rc;
        }
    }
    *(s6_bracket_list *)dst = (s6_bracket_list){ .v = b, .n = n };
    return 0;
}

static void free_brackets(void *dst)
{
    s6_bracket_list *l = dst;
    free(l->v);
    *l = (s6_bracket_list){ 0 };
}

static const struct {
    const char *name;
    decode_fn dec;
    free_fn fr;
} TYPES[S6_CT_COUNT] = {
    [S6_CT_BOOL] = { "bool", dec_bool, NULL },
    [S6_CT_U32] = { "integer", dec_u32, NULL },
    [S6_CT_NUM] = { "number", dec_num, NULL },
    [S6_CT_OPTNUM] = { "number or null", dec_optnum, NULL },
    [S6_CT_STR] = { "string", dec_str, free_str },
    [S6_CT_HOST] = { "host", dec_host, free_str },
    [S6_CT_URL] = { "URL", dec_url, free_str },
    [S6_CT_ENVNAME] = { "env name", dec_envname, free_str },
    [S6_CT_ENUM] = { "enum", dec_enum, NULL },
    [S6_CT_STRLIST] = { "names", dec_strlist, free_strlist },
    [S6_CT_PARAMS] = { "object", dec_params, free_params },
    [S6_CT_BRACKETS] = { "brackets", dec_brackets, free_brackets },
};

const char *s6_cfg_type_name(s6_cfg_type t)
{
    return t < S6_CT_COUNT ? TYPES[t].name : "?";
}

/* ---- the document ---- */

/* Every key of the document must be a known key or lead to one. */
static int check_unknown(json_t *obj, const char *prefix, s6_config_error *err)
{
    char p[PATH_MAX_LEN];
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        textf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (*key == '\0' || strchr(key, '.') != NULL)
            return fail(err, p, "unknown key (names hold no '.')");
        if (key_for(p, false) != NULL)
            continue;
        if (key_for(p, true) == NULL)
            return fail(err, p, "unknown key");
        if (!json_is_object(val))
            return fail(err, p, "must be an object");
        int rc = check_unknown(val, p, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The key's value in `base` (the root or a symbol's object), its default
 * written in when omitted, decoded into dst. */
static int decode_key(const s6_cfg_key *k, json_t *base, const char *rel,
                      const char *path, void *dst, s6_config_error *err)
{
    json_t *v = s6__config_get(base, rel);
    if (v == NULL) {
        if (k->def == NULL)
            return fail(err, path, "required (no default)");
        v = json_loads(k->def, JSON_DECODE_ANY, NULL);
        if (v == NULL || s6__config_set(base, rel, v) != 0)
            return -ENOMEM;
    }
    return TYPES[k->type].dec(k, v, dst, path, err);
}

static const char SYM_PREFIX[] = "symbols.*.";

static bool is_symbol_key(const s6_cfg_key *k)
{
    return strncmp(k->path, SYM_PREFIX, sizeof SYM_PREFIX - 1) == 0;
}

static int decode_globals(json_t *doc, s6_config *cfg, s6_config_error *err)
{
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        if (is_symbol_key(k))
            continue;
        int rc = decode_key(k, doc, k->path, k->path, (char *)cfg + k->off,
                            err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* "BTCUSDT" or, when the same exchange symbol is traded in both markets,
 * "BTCUSDT:SPOT" / "BTCUSDT:FUT": the suffix gives the market. */
static int symbol_key(json_t *obj, const char *key, s6_symbol_cfg *sym,
                      const char **suffix, s6_config_error *err)
{
    char p[PATH_MAX_LEN];
    textf(p, sizeof p, "symbols.%s", key);
    size_t n = strcspn(key, ":");
    *suffix = key[n] ? key + n + 1 : NULL;
    if (strspn(key, UPPER DIGIT) != n || n < 2 || n > 32 ||
        (*suffix && s6_market_parse(*suffix) < 0))
        return fail(err, p, "symbol names are A-Z and 0-9, 2 to 32 long, "
                    "optionally followed by :FUT or :SPOT");
    if (!json_is_object(obj))
        return fail(err, p, "must be an object");
    if ((sym->name = strndup(key, n)) == NULL)
        return -ENOMEM;
    if (*suffix && json_object_get(obj, "market") == NULL &&
        json_object_set_new(obj, "market", json_string(*suffix)) != 0)
        return -ENOMEM;
    return 0;
}

static int decode_symbol(json_t *obj, const char *key, s6_symbol_cfg *sym,
                         s6_config_error *err)
{
    char p[PATH_MAX_LEN];
    const char *suffix;
    int rc = symbol_key(obj, key, sym, &suffix, err);
    for (size_t i = 0; rc == 0 && i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        if (!is_symbol_key(k))
            continue;
        const char *rel = k->path + sizeof SYM_PREFIX - 1;
        textf(p, sizeof p, "symbols.%s.%s", key, rel);
        rc = decode_key(k, obj, rel, p, (char *)sym + k->off, err);
    }
    textf(p, sizeof p, "symbols.%s.market", key);
    if (rc == 0 && suffix && strcmp(suffix, s6_market_name(sym->market)))
        return fail(err, p, "disagrees with the :%s of the symbol's name",
                    suffix);
    return rc;
}

/* One entry per (market, symbol): "BTCUSDT" and "BTCUSDT:FUT" are one. */
static int check_unique(const s6_config *c, const char *key,
                        s6_config_error *err)
{
    const s6_symbol_cfg *s = &c->symbols[c->n_symbols - 1];
    for (size_t i = 0; i + 1 < c->n_symbols; i++)
        if (c->symbols[i].market == s->market &&
            strcmp(c->symbols[i].name, s->name) == 0) {
            char p[PATH_MAX_LEN];
            textf(p, sizeof p, "symbols.%s", key);
            return fail(err, p, "duplicate symbol: %s %s is already "
                        "configured", s6_market_name(s->market), s->name);
        }
    return 0;
}

static int decode_symbols(json_t *doc, s6_config *cfg, s6_config_error *err)
{
    json_t *syms = s6__config_get(doc, "symbols");
    if (syms == NULL) {
        syms = json_object();
        if (s6__config_set(doc, "symbols", syms) != 0)
            return -ENOMEM;
    }
    cfg->symbols = calloc(json_object_size(syms) + 1, sizeof *cfg->symbols);
    if (cfg->symbols == NULL)
        return -ENOMEM;
    const char *name;
    json_t *obj;
    json_object_foreach(syms, name, obj) {
        int rc = decode_symbol(obj, name, &cfg->symbols[cfg->n_symbols++], err);
        if (rc == 0)
            rc = check_unique(cfg, name, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- rules that span keys ---- */

static int check_symbol(const s6_config *c, const s6_symbol_cfg *s,
                        s6_config_error *err)
{
    char p[PATH_MAX_LEN];
    bool fut = s->market == S6_MARKET_FUT;
    textf(p, sizeof p, "symbols.%s.brackets", s->name);
    if (fut && s->brackets.n == 0)
        return fail(err, p, "required for a FUT symbol (at least one bracket)");
    if (!fut && s->brackets.n != 0)
        return fail(err, p, "only FUT symbols have maintenance brackets");
    textf(p, sizeof p, "symbols.%s.leverage", s->name);
    if (!fut && s->leverage != 1)
        return fail(err, p, "must be 1 for a SPOT symbol");
    if (s->leverage > c->risk.max_leverage)
        return fail(err, p, "%g exceeds risk.max_leverage %g", s->leverage,
                    c->risk.max_leverage);
    double r = s->min_qty / s->step;
    textf(p, sizeof p, "symbols.%s.min_qty", s->name);
    if (fabs(r - nearbyint(r)) > 1e-9 * fmax(1.0, r))
        return fail(err, p, "must be a multiple of step %g", s->step);
    return 0;
}

static int check_symbols(s6_config *c, s6_config_error *err)
{
    for (size_t i = 0; i < c->n_symbols; i++) {
        int rc = check_symbol(c, &c->symbols[i], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_limits(s6_config *c, s6_config_error *err)
{
    if (c->orders.rate_total_per_s < c->orders.rate_per_symbol_per_s)
        return fail(err, "orders.rate_total_per_s",
                    "must be >= orders.rate_per_symbol_per_s");
    if (c->orders.retry_initial_ms > c->orders.retry_max_ms)
        return fail(err, "orders.retry_max_ms",
                    "must be >= orders.retry_initial_ms");
    if (c->treasury.max_per_day < c->treasury.max_per_transfer)
        return fail(err, "treasury.max_per_day",
                    "must be >= treasury.max_per_transfer");
    if (c->treasury.profit_ceiling <= c->treasury.min_free_fut)
        return fail(err, "treasury.profit_ceiling",
                    "must be > treasury.min_free_fut");
    return 0;
}

static int check_param_regimes(s6_config *c, s6_config_error *err)
{
    json_t *params = s6__config_get(c->doc, "rules.params");
    const char *rule, *regime;
    json_t *val, *over;
    json_object_foreach(params, rule, val) {
        json_object_foreach(json_object_get(val, "regimes"), regime, over) {
            size_t i = 0;
            while (i < c->rules.regimes.n &&
                   strcmp(c->rules.regimes.v[i], regime) != 0)
                i++;
            if (i == c->rules.regimes.n) {
                char p[PATH_MAX_LEN];
                textf(p, sizeof p, "rules.params.%s.regimes.%s", rule,
                         regime);
                return fail(err, p, "not a regime listed in rules.regimes");
            }
        }
    }
    return 0;
}

/* The token is a secret: short ones are guessable, and it may come from
 * the environment so the file need not hold it. */
static int check_auth(s6_config *c, s6_config_error *err)
{
    if (c->auth.token[0] && c->auth.token_env[0])
        return fail(err, "auth.token_env", "set either auth.token or "
                    "auth.token_env, not both");
    if (c->auth.token_env[0]) {
        const char *v = getenv(c->auth.token_env);
        if (v == NULL || *v == '\0')
            return fail(err, "auth.token_env",
                        "environment variable %s is not set",
                        c->auth.token_env);
        char *t = strdup(v);
        if (t == NULL)
            return -ENOMEM;
        free(c->auth.token);
        c->auth.token = t;
    }
    size_t n = strlen(c->auth.token);
    if (n > 0 && n < 16)
        return fail(err, c->auth.token_env[0] ? "auth.token_env" : "auth.token",
                    "the token must have at least 16 characters (has %zu)", n);
    return 0;
}

static int (*const CHECKS[])(s6_config *, s6_config_error *) = {
    check_symbols, check_limits, check_param_regimes, check_auth,
};

/* ---- loading ---- */

int s6__config_build(json_t *doc, const char *name, s6_config *out,
                     s6_config_error *err)
{
    err_begin(err, name);
    s6_config c = { .doc = doc };
    int rc = json_is_object(doc)
                 ? check_unknown(doc, "", err)
                 : fail(err, "", "the top level must be a JSON object");
    if (rc == 0)
        rc = decode_globals(doc, &c, err);
    if (rc == 0)
        rc = decode_symbols(doc, &c, err);
    for (size_t i = 0; rc == 0 && i < sizeof CHECKS / sizeof CHECKS[0]; i++)
        rc = CHECKS[i](&c, err);
    if (rc == -ENOMEM)
        fail(err, "", "out of memory");
    if (rc != 0) {
        s6_config_free(&c);
        return rc;
    }
    *out = c;
    return 0;
}

static int syntax_error(const json_error_t *je, const char *name,
                        s6_config_error *err)
{
    err_begin(err, name);
    err->line = je->line > 0 ? je->line : 0;
    err->column = je->column > 0 ? je->column : 0;
    snprintf(err->reason, sizeof err->reason, "%s", je->text);
    if (err->line > 0)
        textf(err->message, sizeof err->message, "%s:%d:%d: %s", name,
                 err->line, err->column, je->text);
    else
        textf(err->message, sizeof err->message, "%s: %s", name, je->text);
    return -EINVAL;
}

/* Duplicate keys are refused: with two "BTCUSDT" entries, which one a
 * reader believes is in force is a coin toss. */
enum { PARSE_FLAGS = JSON_REJECT_DUPLICATES };

int s6_config_load_file(const char *path, s6_config *out, s6_config_error *err)
{
    json_error_t je;
    json_t *doc = json_load_file(path, PARSE_FLAGS, &je);
    if (doc == NULL)
        return syntax_error(&je, path, err);
    return s6__config_build(doc, path, out, err);
}

int s6_config_load_text(const char *text, const char *name, s6_config *out,
                        s6_config_error *err)
{
    json_error_t je;
    json_t *doc = json_loads(text, PARSE_FLAGS, &je);
    if (doc == NULL)
        return syntax_error(&je, name ? name : "config", err);
    return s6__config_build(doc, name ? name : "config", out, err);
}

void s6_config_free(s6_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        free_fn fr = TYPES[k->type].fr;
        if (fr == NULL)
            continue;
        if (!is_symbol_key(k))
            fr((char *)cfg + k->off);
        for (size_t j = 0; is_symbol_key(k) && j < cfg->n_symbols; j++)
            fr((char *)&cfg->symbols[j] + k->off);
    }
    for (size_t j = 0; cfg->symbols != NULL && j < cfg->n_symbols; j++)
        free(cfg->symbols[j].name);
    free(cfg->symbols);
    json_decref(cfg->doc);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- environment ---- */

/* The variable's text as the JSON value the key's type takes. */
static json_t *env_value(const s6_cfg_key *k, const char *text)
{
    char *end;
    errno = 0;
    if (k->type == S6_CT_U32) {
        if (strspn(text, DIGIT) != strlen(text) || strlen(text) > 10)
            return NULL;
        return json_integer((json_int_t)strtoll(text, NULL, 10));
    }
    if (k->type == S6_CT_NUM) {
        double d = strtod(text, &end);
        return *end || errno || !isfinite(d) ? NULL : json_real(d);
    }
    if (k->type == S6_CT_BOOL)
        return !strcmp(text, "true")    ? json_true()
               : !strcmp(text, "false") ? json_false()
                                        : NULL;
    return json_string(text); /* NULL for invalid UTF-8 */
}

static const s6_cfg_key *key_exact(const char *path)
{
    for (size_t i = 0; i < s6_config_nkeys; i++)
        if (strcmp(s6_config_keys[i].path, path) == 0)
            return &s6_config_keys[i];
    return NULL;
}

/* Checks one override on its own so the error names the variable. */
static int env_check(const s6_cfg_key *k, const s6_cfg_env *e, json_t *v,
                     s6_config_error *err)
{
    s6_config scratch;
    memset(&scratch, 0, sizeof scratch);
    int rc = v == NULL ? fail(err, k->path, "not a valid %s",
                              TYPES[k->type].name)
                       : TYPES[k->type].dec(k, v, (char *)&scratch + k->off,
                                            k->path, err);
    if (TYPES[k->type].fr != NULL)
        TYPES[k->type].fr((char *)&scratch + k->off);
    if (rc != 0) {
        char reason[sizeof err->reason];
        snprintf(reason, sizeof reason, "%s", err->reason);
        fail(err, k->path, "from environment %s: %s", e->var, reason);
    }
    return rc;
}

int s6__config_env_patch(json_t *doc, s6_config_error *err)
{
    err_begin(err, "environment");
    for (size_t i = 0; i < s6_config_nenvs; i++) {
        const s6_cfg_env *e = &s6_config_envs[i];
        const char *text = getenv(e->var);
        if (text == NULL || *text == '\0')
            continue;
        const s6_cfg_key *k = key_exact(e->path);
        json_t *v = k ? env_value(k, text) : NULL;
        int rc = k == NULL ? fail(err, e->path, "no such key")
                           : env_check(k, e, v, err);
        if (rc == 0 && strcmp(e->path, "auth.token") == 0)
            rc = s6__config_set(doc, "auth.token_env", json_string(""));
        if (rc == 0)
            rc = s6__config_set(doc, e->path, v);
        else
            json_decref(v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int s6_config_apply_env(s6_config *cfg, s6_config_error *err)
{
    json_t *doc = json_deep_copy(cfg->doc);
    if (doc == NULL) {
        err_begin(err, "environment");
        return fail(err, "", "out of memory");
    }
    int rc = s6__config_env_patch(doc, err);
    if (rc != 0) {
        json_decref(doc);
        return rc;
    }
    s6_config fresh;
    rc = s6__config_build(doc, "environment", &fresh, err);
    if (rc != 0)
        return rc;
    s6_config_free(cfg);
    *cfg = fresh;
    return 0;
}

/* ---- lookups ---- */

const s6_symbol_cfg *s6_config_symbol(const s6_config *cfg, int market,
                                      const char *name)
{
    for (size_t i = 0; i < cfg->n_symbols; i++)
        if (cfg->symbols[i].market == market &&
            strcmp(cfg->symbols[i].name, name) == 0)
            return &cfg->symbols[i];
    return NULL;
}

const char *s6_config_rule_params(const s6_config *cfg, const char *name)
{
    const s6_rule_params_list *l = &cfg->rules.params;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].rule, name) == 0)
            return l->v[i].params_json;
    return NULL;
}

int s6_config_check_rule_names(const s6_config *cfg, const char *const *names,
                               size_t n, s6_config_error *err)
{
    err_begin(err, "config");
    const s6_rule_params_list *l = &cfg->rules.params;
    for (size_t i = 0; i < l->n; i++) {
        size_t j = 0;
        while (j < n && strcmp(names[j], l->v[i].rule) != 0)
            j++;
        if (j == n) {
            char p[PATH_MAX_LEN];
            textf(p, sizeof p, "rules.params.%s", l->v[i].rule);
            return fail(err, p, "no rule of that name is loaded");
        }
    }
    return 0;
}

json_t *s6_config_public_json(const s6_config *cfg)
{
    json_t *doc = json_deep_copy(cfg->doc);
    for (size_t i = 0; doc != NULL && i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        json_t *v = s6__config_get(doc, k->path);
        if ((k->flags & S6_CK_SECRET) && json_string_length(v) > 0)
            s6__config_set(doc, k->path, json_string("***"));
    }
    return doc;
}
