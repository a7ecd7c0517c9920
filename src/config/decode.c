/*
 * decode.c — one configuration value of each type: how a JSON value is
 * checked (range, shape, syntax) and stored in the config struct, and how
 * what was stored is freed.  The TYPES table at the end maps each
 * s6_cfg_type to its decoder; config.c walks the key table with it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

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

static const char *url_problem(const char *s, const char *schemes);

/* redis+cluster://host[:port],host[:port]...[/]: each node as a redis://
 * URL of its own (docs/redis.md, "Redis Cluster"). */
static const char *cluster_url_problem(const char *s)
{
    const char *p = s + strlen("redis+cluster://");
    size_t list = strcspn(p, "/");
    if (p[list] == '/' && p[list + 1] != '\0' && strcmp(p + list, "/0") != 0)
        return "a cluster has only database 0";
    for (;;) {
        size_t n = strcspn(p, ",/");
        char one[300];
        if (n == 0 || n > 255)
            return "a node address is empty or too long";
        snprintf(one, sizeof one, "redis://%.*s", (int)n, p);
        const char *why = url_problem(one, "redis");
        if (why != NULL)
            return why;
        p += n;
        if (*p++ != ',')
            return NULL;
    }
}

/* scheme://host[:port][/rest], host of [A-Za-z0-9.-] or [v6]; unix:/path. */
static const char *url_problem(const char *s, const char *schemes)
{
    size_t ns = strcspn(s, ":");
    if (s[ns] != ':' || list_index(schemes, s, ns) < 0)
        return "scheme not allowed";
    if (strncmp(s, "redis+cluster://", 16) == 0)
        return cluster_url_problem(s);
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
    if (!l->borrowed)
        free(l->v);
    *l = (s6_bracket_list){ 0 };
}

/* ---- a stored value back to JSON, and two stored values compared: the
 * symbols are kept decoded only (config.c), so the document shown and
 * the one a reload rebuilds from are written from them ---- */

typedef json_t *(*encode_fn)(const s6_cfg_key *k, const void *src);
typedef bool (*same_fn)(const void *a, const void *b);

static json_t *enc_bool(const s6_cfg_key *k, const void *src)
{
    (void)k;
    return json_boolean(*(const bool *)src);
}

static json_t *enc_u32(const s6_cfg_key *k, const void *src)
{
    (void)k;
    return json_integer(*(const uint32_t *)src);
}

/* Whole numbers as integers, so a file's "leverage": 10 reads back as
 * written (decoders take either form). */
static json_t *num_json(double d)
{
    if (d == trunc(d) && fabs(d) < 1e15)
        return json_integer((json_int_t)d);
    return json_real(d);
}

static json_t *enc_num(const s6_cfg_key *k, const void *src)
{
    (void)k;
    return num_json(*(const double *)src);
}

static json_t *enc_optnum(const s6_cfg_key *k, const void *src)
{
    (void)k;
    const s6_opt_num *o = src;
    return o->set ? num_json(o->v) : json_null();
}

static json_t *enc_str(const s6_cfg_key *k, const void *src)
{
    (void)k;
    const char *s = *(char *const *)src;
    return json_string(s ? s : "");
}

static json_t *enc_enum(const s6_cfg_key *k, const void *src)
{
    const char *p = k->arg;
    for (int i = *(const int *)src; i > 0 && *p; i--)
        p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|');
    return json_stringn(p, strcspn(p, "|"));
}

static json_t *enc_brackets(const s6_cfg_key *k, const void *src)
{
    (void)k;
    const s6_bracket_list *l = src;
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < l->n; i++) {
        json_t *o = json_object();
        for (size_t f = 0; o != NULL && f < N_BRACKET_FIELDS; f++)
            json_object_set_new(o, BRACKET_FIELDS[f].name,
                num_json(*(const double *)((const char *)&l->v[i] +
                                           BRACKET_FIELDS[f].off)));
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static bool same_bool(const void *a, const void *b)
{
    return *(const bool *)a == *(const bool *)b;
}

static bool same_u32(const void *a, const void *b)
{
    return *(const uint32_t *)a == *(const uint32_t *)b;
}

static bool same_num(const void *a, const void *b)
{
    return *(const double *)a == *(const double *)b;
}

static bool same_optnum(const void *a, const void *b)
{
    const s6_opt_num *x = a, *y = b;
    return x->set == y->set && (!x->set || x->v == y->v);
}

static bool same_str(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return strcmp(x ? x : "", y ? y : "") == 0;
}

static bool same_enum(const void *a, const void *b)
{
    return *(const int *)a == *(const int *)b;
}

static bool same_brackets(const void *a, const void *b)
{
    const s6_bracket_list *x = a, *y = b;
    if (x->n != y->n)
        return false;
    for (size_t i = 0; i < x->n; i++)
        for (size_t f = 0; f < N_BRACKET_FIELDS; f++)
            if (*(const double *)((const char *)&x->v[i] +
                                  BRACKET_FIELDS[f].off) !=
                *(const double *)((const char *)&y->v[i] +
                                  BRACKET_FIELDS[f].off))
                return false;
    return true;
}

/* enc and same are NULL for the types only the document keeps (the
 * symbols use none of them). */
static const struct {
    const char *name;
    decode_fn dec;
    free_fn fr;
    encode_fn enc;
    same_fn same;
} TYPES[S6_CT_COUNT] = {
    [S6_CT_BOOL] = { "bool", dec_bool, NULL, enc_bool, same_bool },
    [S6_CT_U32] = { "integer", dec_u32, NULL, enc_u32, same_u32 },
    [S6_CT_NUM] = { "number", dec_num, NULL, enc_num, same_num },
    [S6_CT_OPTNUM] = { "number or null", dec_optnum, NULL, enc_optnum,
                       same_optnum },
    [S6_CT_STR] = { "string", dec_str, free_str, enc_str, same_str },
    [S6_CT_HOST] = { "host", dec_host, free_str, enc_str, same_str },
    [S6_CT_URL] = { "URL", dec_url, free_str, enc_str, same_str },
    [S6_CT_ENVNAME] = { "env name", dec_envname, free_str, enc_str,
                        same_str },
    [S6_CT_ENUM] = { "enum", dec_enum, NULL, enc_enum, same_enum },
    [S6_CT_STRLIST] = { "names", dec_strlist, free_strlist, NULL, NULL },
    [S6_CT_PARAMS] = { "object", dec_params, free_params, NULL, NULL },
    [S6_CT_BRACKETS] = { "brackets", dec_brackets, free_brackets,
                         enc_brackets, same_brackets },
};

const char *s6_cfg_type_name(s6_cfg_type t)
{
    return t < S6_CT_COUNT ? TYPES[t].name : "?";
}

int s6__config_decode(const s6_cfg_key *k, json_t *v, void *dst,
                      const char *path, s6_config_error *err)
{
    return TYPES[k->type].dec(k, v, dst, path, err);
}

void s6__config_release(const s6_cfg_key *k, void *dst)
{
    if (TYPES[k->type].fr != NULL)
        TYPES[k->type].fr(dst);
}

json_t *s6__config_encode(const s6_cfg_key *k, const void *src)
{
    return TYPES[k->type].enc != NULL ? TYPES[k->type].enc(k, src) : NULL;
}

bool s6__config_same(const s6_cfg_key *k, const void *a, const void *b)
{
    return TYPES[k->type].same != NULL && TYPES[k->type].same(a, b);
}
