/*
 * config.c — loading and validating the configuration.  The work is
 * table-driven: s6_config_keys says what each key is, the TYPES table of
 * decode.c says how a JSON value of each type is checked and stored, and CHECKS
 * holds the few rules that span several keys.  A document is refused on
 * the first problem, with the key's path and the reason; nothing is
 * stored anywhere until everything has passed.
 */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "contract/names.h"

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
    return s6__config_decode(k, v, dst, path, err);
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
    sym->suffixed = *suffix != NULL;
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

/* A table equal to one seen among the last few distinct ones is shared:
 * symbols listed from one template (all of an exchange's USDT perpetuals
 * share a handful of tables) keep one copy. */
enum { SHARE_RECENT = 8 };

static void share_brackets(const s6_cfg_key *k, s6_bracket_list *l,
                           s6_bracket_list **recent, size_t *n_recent)
{
    if (l->n == 0 || k == NULL)
        return;
    for (size_t i = 0; i < *n_recent && i < SHARE_RECENT; i++)
        if (s6__config_same(k, recent[i], l)) {
            free(l->v);
            l->v = recent[i]->v;
            l->borrowed = true;
            return;
        }
    recent[(*n_recent)++ % SHARE_RECENT] = l;
}

static int decode_symbols(json_t *doc, s6_config *cfg, s6_config_error *err)
{
    const s6_cfg_key *bk = key_for("symbols.*.brackets", false);
    s6_bracket_list *recent[SHARE_RECENT];
    size_t n_recent = 0;
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
        s6_symbol_cfg *sym = &cfg->symbols[cfg->n_symbols++];
        int rc = decode_symbol(obj, name, sym, err);
        if (rc == 0)
            rc = check_unique(cfg, name, err);
        if (rc != 0)
            return rc;
        share_brackets(bk, &sym->brackets, recent, &n_recent);
    }
    return 0;
}

/* ---- the symbols written back from their decoded form ---- */

static json_t *symbol_json(const s6_symbol_cfg *sym)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        if (!is_symbol_key(k))
            continue;
        json_t *v = s6__config_encode(k, (const char *)sym + k->off);
        if (v == NULL || s6__config_set(o, k->path + sizeof SYM_PREFIX - 1,
                                        v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *symbols_json(const s6_config *cfg)
{
    json_t *all = json_object();
    for (size_t i = 0; all != NULL && i < cfg->n_symbols; i++) {
        const s6_symbol_cfg *sym = &cfg->symbols[i];
        char key[PATH_MAX_LEN];
        textf(key, sizeof key, "%s%s%s", sym->name, sym->suffixed ? ":" : "",
              sym->suffixed ? s6_market_name(sym->market) : "");
        json_t *o = symbol_json(sym);
        if (o == NULL || json_object_set_new(all, key, o) != 0) {
            json_decref(all);
            return NULL;
        }
    }
    return all;
}

json_t *s6__config_full_doc(const s6_config *cfg)
{
    json_t *doc = json_deep_copy(cfg->doc);
    json_t *syms = doc != NULL ? symbols_json(cfg) : NULL;
    if (syms == NULL || json_object_set_new(doc, "symbols", syms) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

bool s6__config_symbols_same(const s6_config *a, const s6_config *b)
{
    if (a->n_symbols != b->n_symbols)
        return false;
    for (size_t j = 0; j < a->n_symbols; j++) {
        const s6_symbol_cfg *x = &a->symbols[j], *y = &b->symbols[j];
        if (strcmp(x->name, y->name) != 0 || x->suffixed != y->suffixed)
            return false;
        for (size_t i = 0; i < s6_config_nkeys; i++) {
            const s6_cfg_key *k = &s6_config_keys[i];
            if (is_symbol_key(k) &&
                !s6__config_same(k, (const char *)x + k->off,
                                 (const char *)y + k->off))
                return false;
        }
    }
    return true;
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
    if (c->risk.margin_add_target_ratio >= c->treasury.margin_call.threshold)
        return fail(err, "risk.margin_add_target_ratio",
                    "must be < treasury.triggers.margin_call.threshold");
    if (c->shard.index >= c->shard.count)
        return fail(err, "shard.index", "must be < shard.count");
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
    if (rc == 0 && json_object_del(doc, "symbols") != 0)
        rc = -ENOMEM;
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

/* The parsed document of thousands of symbols is megabytes freed between
 * blocks that stay; glibc keeps such holes resident until asked (measured:
 * 56 MiB of RSS for 10,000 symbols after the load, 2 MiB of it in use). */
static int give_back(int rc)
{
    malloc_trim(0);
    return rc;
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
    return give_back(s6__config_build(doc, path, out, err));
}

int s6_config_load_text(const char *text, const char *name, s6_config *out,
                        s6_config_error *err)
{
    json_error_t je;
    json_t *doc = json_loads(text, PARSE_FLAGS, &je);
    if (doc == NULL)
        return syntax_error(&je, name ? name : "config", err);
    return give_back(s6__config_build(doc, name ? name : "config", out, err));
}

void s6_config_free(s6_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        if (!is_symbol_key(k))
            s6__config_release(k, (char *)cfg + k->off);
        for (size_t j = 0; is_symbol_key(k) && j < cfg->n_symbols; j++)
            s6__config_release(k, (char *)&cfg->symbols[j] + k->off);
    }
    for (size_t j = 0; cfg->symbols != NULL && j < cfg->n_symbols; j++)
        free(cfg->symbols[j].name);
    free(cfg->symbols);
    json_decref(cfg->doc);
    memset(cfg, 0, sizeof *cfg);
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

int s6_config_error_set(s6_config_error *err, const char *file,
                        const char *path, const char *reason)
{
    err_begin(err, file);
    return fail(err, path, "%s", reason);
}

json_t *s6_config_public_json(const s6_config *cfg)
{
    json_t *doc = s6__config_full_doc(cfg);
    for (size_t i = 0; doc != NULL && i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        json_t *v = s6__config_get(doc, k->path);
        if ((k->flags & S6_CK_SECRET) && json_string_length(v) > 0)
            s6__config_set(doc, k->path, json_string("***"));
    }
    return doc;
}
