/* Rule files, their good versions, validate-then-swap and rollback. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/registry.h"
#include "rules/registry_internal.h"
#include "core/s6_core.h"

/* A rule is a small script; anything bigger is a mistake, not a rule. */
#define S6_RULE_MAX_BYTES (1u << 20)

void s6_rule_hash(const char *text, size_t len, char out[17])
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int read_file(const char *path, char **out, size_t *len, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%.400s: cannot open", path);
        return S6_EINVAL;
    }
    char *buf = malloc(S6_RULE_MAX_BYTES + 1);
    size_t n = buf != NULL ? fread(buf, 1, S6_RULE_MAX_BYTES + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (buf == NULL || bad || n > S6_RULE_MAX_BYTES) {
        snprintf(err, errlen, "%.400s: %s", path,
                 n > S6_RULE_MAX_BYTES ? "larger than 1 MiB" : "read error");
        free(buf);
        return S6_EINVAL;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return S6_OK;
}

static int is_rule_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && n - 4 < S6_RULE_NAME_MAX &&
           strcmp(d->d_name + n - 4, ".lua") == 0;
}

const char s6__reg_shadow_suffix[] = ".shadow.lua";

/* <rule>.shadow.lua is the rule's shadow, not a rule of its own. */
static int is_shadow_file(const char *file)
{
    size_t n = strlen(file), k = sizeof s6__reg_shadow_suffix - 1;
    return n > k && strcmp(file + n - k, s6__reg_shadow_suffix) == 0;
}

s6_rule_entry *s6__reg_entry_named(s6_rule_registry *reg, const char *name)
{
    for (int i = 0; i < reg->n; i++)
        if (strcmp(reg->rules[i].name, name) == 0)
            return &reg->rules[i];
    return NULL;
}

static s6_rule_entry *entry_for(s6_rule_registry *reg, const char *file)
{
    char name[S6_RULE_NAME_MAX];
    snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
    s6_rule_entry *known = s6__reg_entry_named(reg, name);
    if (known != NULL)
        return known;
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/%s", reg->dir, file);
    if (reg->n >= S6_REG_MAX_RULES || len < 0 || (size_t)len >= sizeof path)
        return NULL;
    s6_rule_entry *e = &reg->rules[reg->n];
    memset(e, 0, sizeof *e);
    e->id = reg->n++;
    snprintf(e->name, sizeof e->name, "%s", name);
    memcpy(e->chunkname, path, (size_t)len + 1);
    return e;
}

const s6_rule_entry *s6_registry_find(const s6_rule_registry *reg,
                                      const char *name)
{
    for (int i = 0; reg != NULL && i < reg->n; i++)
        if (strcmp(reg->rules[i].name, name) == 0)
            return &reg->rules[i];
    return NULL;
}

/* The sources of every live rule, with `cand` standing in for its entry. */
static size_t collect(const s6_rule_registry *reg, const s6_rule_entry *cand,
                      const char *src, size_t len, s6_rule_src *out)
{
    size_t n = 0;
    for (int i = 0; i < reg->n; i++) {
        const s6_rule_entry *e = &reg->rules[i];
        int is_cand = e == cand;
        if (!e->present || (!is_cand && (e->good == NULL || e->quarantined)))
            continue;
        out[n++] = (s6_rule_src){
            .id = e->id, .name = e->name, .chunkname = e->chunkname,
            .source = is_cand ? src : e->good,
            .len = is_cand ? len : e->good_len,
            .params_json = reg->params_of != NULL
                               ? reg->params_of(reg->params_ud, e->name)
                               : NULL};
    }
    return n;
}

/* The live set from the good versions; checked again when something
 * besides the versions changed (the parameters).  The caller owns it on
 * success. */
int s6__reg_build_set(s6_rule_registry *reg, int check, s6_ruleset **out,
                     char *err, size_t errlen)
{
    s6_rule_src srcs[S6_REG_MAX_RULES];
    size_t n = collect(reg, NULL, NULL, 0, srcs);
    int rc = s6_ruleset_new(&reg->opts, srcs, n, out, err, errlen);
    if (rc == 0 && check &&
        (rc = s6_ruleset_self_check(*out, err, errlen)) != 0) {
        s6_ruleset_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Counts a fault into *faults and its message into msg; returns whether
 * the threshold is reached.  A fault that took the worker down reaches it
 * at once: no second chance. */
int s6__reg_charge(const s6_rule_fault *f, unsigned threshold,
                  unsigned *faults, char *msg, size_t len)
{
    *faults = f->fatal && *faults < threshold ? threshold : *faults + 1;
    snprintf(msg, len, "%s", f->message);
    return *faults >= threshold;
}

static void registry_fault(void *ud, const s6_rule_fault *f)
{
    s6_rule_registry *reg = ud;
    if (f->rule_id >= 0 && f->rule_id < reg->n) {
        s6_rule_entry *e = &reg->rules[f->rule_id];
        int out = s6__reg_charge(f, reg->rollback_faults, &e->faults,
                                 e->last_error, sizeof e->last_error);
        e->faulted = 1;
        e->clean = 0;
        if (out)
            reg->rollback_pending = 1;
    }
    if (reg->user_fault != NULL)
        reg->user_fault(reg->user_ud, f);
}

int s6_registry_init(s6_rule_registry *reg, const char *dir,
                     const s6_ruleset_opts *opts)
{
    if (reg == NULL || dir == NULL || opts == NULL)
        return S6_EINVAL;
    memset(reg, 0, sizeof *reg);
    snprintf(reg->dir, sizeof reg->dir, "%s", dir);
    reg->opts = *opts;
    reg->user_fault = opts->on_fault;
    reg->user_ud = opts->fault_ud;
    reg->opts.on_fault = registry_fault;
    reg->opts.fault_ud = reg;
    reg->rollback_faults = 5;
    reg->clean_batches = 20;
    return S6_OK;
}

void s6__reg_set_good(s6_rule_entry *e, char *src, size_t len)
{
    free(e->prev);
    e->prev = e->good;
    e->prev_len = e->good_len;
    memcpy(e->prev_hash, e->hash, sizeof e->hash);
    e->good = src;
    e->good_len = len;
    s6_rule_hash(src, len, e->hash);
    e->faults = 0;
    e->quarantined = 0;
    e->clean = 0;
    e->faulted = 0;
    e->rolled_back = 0;
    e->bad_hash[0] = '\0';
    e->last_error[0] = '\0';
}

/* Which parameters each rule now runs with, so a rebuild can say whose
 * changed. */
void s6__reg_note_params(s6_rule_registry *reg)
{
    for (int i = 0; i < reg->n; i++) {
        const char *p = reg->params_of != NULL
                            ? reg->params_of(reg->params_ud, reg->rules[i].name)
                            : NULL;
        s6_rule_hash(p != NULL ? p : "", p != NULL ? strlen(p) : 0,
                     reg->rules[i].params_hash);
    }
}

/* reuse: the last accepted trial is exactly the set to go live; check:
 * self-check a rebuilt set (not needed when only known-good versions
 * are put back together after a rollback or a dead worker). */
static int swap_live(s6_rule_registry *reg, int reuse, int check, char *err,
                     size_t errlen)
{
    s6_ruleset *next = reg->next;
    reg->next = NULL;
    if (!reuse) {
        s6_ruleset_free(next);
        next = NULL;
    }
    int rc = next != NULL
                 ? 0 : s6__reg_build_set(reg, check, &next, err, errlen);
    if (rc != 0)
        return rc;
    s6_ruleset_free(reg->live);
    reg->live = next;
    reg->version++;
    s6__reg_note_params(reg);
    return S6_OK;
}

static void drop_pending(s6_rule_registry *reg)
{
    for (int i = reg->ipend; i < reg->npend; i++)
        free(reg->pend[i].src);
    reg->npend = reg->ipend = 0;
}

/* <dir>/<rule>.shadow.lua, the name a shadow's errors carry. */
void s6__reg_shadow_chunkname(const s6_rule_entry *e, char *out, size_t len)
{
    snprintf(out, len, "%.*s%s", (int)(strlen(e->chunkname) - 4),
             e->chunkname, s6__reg_shadow_suffix);
}

/* A refusal names the file refused, also when the error points into the
 * host's code (a chunk that overran its load deadline is stopped in
 * lua/s6/sandbox.lua); a parameter's error names its path instead. */
static void refusal(char *out, size_t len, const char *file, const char *err)
{
    char msg[512];
    if (strstr(err, file) != NULL || strstr(err, ".lua:") == NULL)
        snprintf(msg, sizeof msg, "%s", err);
    else
        snprintf(msg, sizeof msg, "%.200s: %.300s", file, err);
    snprintf(out, len, "%s", msg);
}

/* A shadow file: tried (as its rule's shadow) when its text is new. */
static void scan_shadow(s6_rule_registry *reg, const char *file)
{
    char name[S6_RULE_NAME_MAX], path[PATH_MAX];
    snprintf(name, sizeof name, "%.*s",
             (int)(strlen(file) - (sizeof s6__reg_shadow_suffix - 1)), file);
    s6_rule_entry *e = s6__reg_entry_named(reg, name);
    int plen = snprintf(path, sizeof path, "%s/%s", reg->dir, file);
    if (plen < 0 || (size_t)plen >= sizeof path)
        return;
    /* the live file is tried first: its version may be on its way */
    if (e == NULL || !e->present) {
        snprintf(reg->scan_note, sizeof reg->scan_note,
                 "%.400s: no live rule '%s' to shadow", path, name);
        return;
    }
    e->shadow_present = 1;
    char *src = NULL;
    size_t len = 0;
    char hash[17];
    if (read_file(path, &src, &len, e->shadow_error,
                  sizeof e->shadow_error) != 0)
        return;
    s6_rule_hash(src, len, hash);
    if (e->shadow != NULL && strcmp(hash, e->shadow_hash) == 0) {
        free(src);
        return;
    }
    reg->pend[reg->npend++] = (s6_rule_pending){e->id, 1, src, len};
}

/* A live file: a candidate when its text is neither the live version nor
 * the one last rolled back. */
static void scan_live(s6_rule_registry *reg, s6_rule_entry *e)
{
    char *src = NULL;
    size_t len = 0;
    char hash[17];
    if (read_file(e->chunkname, &src, &len, e->last_error,
                  sizeof e->last_error) != 0)
        return;
    s6_rule_hash(src, len, hash);
    if (e->good != NULL && strcmp(hash, e->hash) == 0) {
        e->last_error[0] = '\0'; /* back to the live text */
        e->rolled_back = 0;
        free(src);
        return;
    }
    if (strcmp(hash, e->bad_hash) == 0) {
        free(src); /* still the version rolled back: it stays out */
        return;
    }
    reg->pend[reg->npend++] = (s6_rule_pending){e->id, 0, src, len};
}

/*
 * Visits every rule file: presence first (a candidate is tried with every
 * rule still on disk, whichever comes first in the folder), then the new or
 * changed ones wait in pend[] to be tried one by one, shadows after the
 * live files.  Returns how many.
 */
int s6_registry_scan(s6_rule_registry *reg, char *err, size_t errlen)
{
    struct dirent **names = NULL;
    drop_pending(reg);
    reg->scan_note[0] = '\0';
    int count = scandir(reg->dir, &names, is_rule_file, alphasort);
    if (count < 0) {
        snprintf(err, errlen, "%s: cannot read the rules folder", reg->dir);
        return S6_EINVAL;
    }
    s6_rule_entry *entries[S6_REG_MAX_RULES];
    int ne = 0, overflow = 0;
    for (int i = 0; i < reg->n; i++)
        reg->rules[i].present = reg->rules[i].shadow_present = 0;
    for (int i = 0; i < count; i++) {
        if (is_shadow_file(names[i]->d_name))
            continue;
        s6_rule_entry *e = entry_for(reg, names[i]->d_name);
        if (e != NULL) {
            e->present = 1;
            entries[ne++] = e;
        } else if (!overflow++) {
            snprintf(err, errlen, "%s: more than %d rules or path too long",
                     names[i]->d_name, S6_REG_MAX_RULES);
        }
    }
    for (int i = 0; i < ne; i++)
        scan_live(reg, entries[i]);
    for (int i = 0; i < count; i++) {
        if (is_shadow_file(names[i]->d_name))
            scan_shadow(reg, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    return overflow ? S6_ERANGE : reg->npend;
}

static char *dup_str(const char *s, size_t len)
{
    char *d = s != NULL ? malloc(len + 1) : NULL;
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void s6_registry_trial_free(s6_rule_trial *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free((char *)t->srcs[i].name);
        free((char *)t->srcs[i].chunkname);
        free((char *)t->srcs[i].source);
        free((char *)t->srcs[i].params_json);
    }
    free(t->src);
    s6_ruleset_free(t->set);
    free(t);
}

/* The sources a trial runs, copied so it can run anywhere while the
 * registry moves on; `shadow_of` (an entry id, or -1) is named as its
 * shadow file. */
static void copy_sources(s6_rule_trial *t, const s6_rule_src *view,
                         const char *shadow_file, int shadow_of)
{
    for (size_t i = 0; i < t->n; i++) {
        const s6_rule_src *v = &view[i];
        const char *chunk = v->id == shadow_of ? shadow_file : v->chunkname;
        t->srcs[i] = (s6_rule_src){
            .id = v->id, .name = dup_str(v->name, strlen(v->name)),
            .chunkname = dup_str(chunk, strlen(chunk)),
            .source = dup_str(v->source, v->len), .len = v->len,
            .params_json = dup_str(v->params_json,
                                   v->params_json ? strlen(v->params_json)
                                                  : 0)};
    }
}

/* The next candidate with copies of everything it is tried with (a
 * rollback frees a good version).  NULL when none is left. */
s6_rule_trial *s6_registry_trial_next(s6_rule_registry *reg)
{
    while (reg->ipend < reg->npend) {
        s6_rule_pending *p = &reg->pend[reg->ipend++];
        s6_rule_trial *t = calloc(1, sizeof *t);
        if (t == NULL) {
            free(p->src);
            continue;
        }
        t->shadow = p->shadow;
        s6__reg_trial_fill(reg, t, p->entry, p->src, p->len);
        return t;
    }
    return NULL;
}

void s6__reg_trial_fill(s6_rule_registry *reg, s6_rule_trial *t, int entry,
                        char *src, size_t len)
{
    t->entry = entry;
    t->src = src;
    t->len = len;
    t->opts = reg->opts;
    t->version = reg->version;
    s6_rule_src view[S6_REG_MAX_RULES];
    t->n = collect(reg, &reg->rules[entry], src, len, view);
    char shadow_file[PATH_MAX];
    s6__reg_shadow_chunkname(&reg->rules[entry], shadow_file,
                             sizeof shadow_file);
    copy_sources(t, view, shadow_file, t->shadow ? entry : -1);
}

s6_rule_trial *s6_registry_trial_params(
    s6_rule_registry *reg, const char *(*params_of)(void *, const char *),
    void *ud)
{
    s6_rule_trial *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->entry = -1;
    t->opts = reg->opts;
    t->version = reg->version;
    const char *(*was)(void *, const char *) = reg->params_of;
    void *was_ud = reg->params_ud;
    reg->params_of = params_of;
    reg->params_ud = ud;
    s6_rule_src view[S6_REG_MAX_RULES];
    t->n = collect(reg, NULL, NULL, 0, view);
    copy_sources(t, view, NULL, -1);
    reg->params_of = was;
    reg->params_ud = was_ud;
    return t;
}

int s6_registry_adopt(s6_rule_registry *reg, s6_ruleset *set)
{
    s6_ruleset_free(reg->next);
    reg->next = set;
    char err[512];
    return swap_live(reg, 1, 0, err, sizeof err);
}

void s6_registry_trial_run(s6_rule_trial *t)
{
    t->rc = s6_ruleset_new(&t->opts, t->srcs, t->n, &t->set, t->err,
                           sizeof t->err);
    if (t->rc == 0 &&
        (t->rc = s6_ruleset_self_check(t->set, t->err, sizeof t->err)) != 0) {
        s6_ruleset_free(t->set);
        t->set = NULL;
    }
}

/* A shadow's record starts over (a new shadow, or none after a promotion). */
void s6__reg_shadow_restart(s6_rule_entry *e)
{
    e->shadow_error[0] = '\0';
    e->shadow_faults = 0;
    e->shadow_since_ms = 0;
    e->shadow_evals = e->shadow_differed = 0;
    memset(e->shadow_diff, 0, sizeof e->shadow_diff);
    e->shadow_last_diff[0] = '\0';
}

/* A shadow that passed replaces the rule's shadow; its counts start over. */
static void take_shadow(s6_rule_registry *reg, s6_rule_entry *e,
                        s6_rule_trial *t)
{
    free(e->shadow);
    e->shadow = t->src;
    e->shadow_len = t->len;
    s6_rule_hash(t->src, t->len, e->shadow_hash);
    t->src = NULL;
    s6__reg_shadow_restart(e);
    reg->shadow_dirty = 1;
}

int s6_registry_trial_done(s6_rule_registry *reg, s6_rule_trial *t)
{
    s6_rule_entry *e = &reg->rules[t->entry];
    int ok = t->rc == 0, live = !t->shadow;
    char file[PATH_MAX];
    s6__reg_shadow_chunkname(e, file, sizeof file);
    if (t->shadow) {
        if (ok)
            take_shadow(reg, e, t);
        else
            refusal(e->shadow_error, sizeof e->shadow_error, file, t->err);
    } else if (!ok) {
        refusal(e->last_error, sizeof e->last_error, e->chunkname, t->err);
    } else {
        /* The trial holds every good version plus this one: if nothing
         * else changes, it is the next live set as it stands (not when
         * a rollback or quarantine changed the live set meanwhile). */
        s6_ruleset_free(reg->next);
        reg->next = reg->version == t->version ? t->set : NULL;
        if (reg->next != NULL)
            t->set = NULL;
        s6__reg_set_good(e, t->src, t->len);
        t->src = NULL;
    }
    s6_registry_trial_free(t);
    return ok && live;
}

/* Every candidate of the folder, one after the other, here. */
static int scan(s6_rule_registry *reg, char *err, size_t errlen)
{
    int rc = s6_registry_scan(reg, err, errlen);
    if (rc < 0 && rc != S6_ERANGE)
        return rc;
    int changed = 0;
    s6_rule_trial *t;
    while ((t = s6_registry_trial_next(reg)) != NULL) {
        s6_registry_trial_run(t);
        if (t->rc != 0)
            snprintf(err, errlen, "%s", t->err);
        changed += s6_registry_trial_done(reg, t);
    }
    return rc == S6_ERANGE ? rc : changed;
}

int s6_registry_load(s6_rule_registry *reg, char *err, size_t errlen)
{
    if (reg == NULL)
        return S6_EINVAL;
    int rc = scan(reg, err, errlen);
    if (rc < 0)
        return rc;
    /* Every file is tried, so a check can name each one that fails; but
     * start-up needs them all. */
    for (int i = 0; i < reg->n; i++)
        if (reg->rules[i].present && reg->rules[i].good == NULL) {
            snprintf(err, errlen, "%s", reg->rules[i].last_error);
            return S6_EINVAL;
        }
    return swap_live(reg, 1, 1, err, errlen);
}

static int removed_any(s6_rule_registry *reg)
{
    int n = 0;
    for (int i = 0; i < reg->n; i++)
        if (!reg->rules[i].present && reg->rules[i].good != NULL) {
            free(reg->rules[i].good);
            reg->rules[i].good = NULL;
            n++;
        }
    return n;
}

void s6__reg_drop_shadow(s6_rule_registry *reg, s6_rule_entry *e)
{
    if (e->shadow == NULL)
        return;
    free(e->shadow);
    e->shadow = NULL;
    e->shadow_hash[0] = '\0';
    reg->shadow_dirty = 1;
}

/* Shadows whose file (or whose live rule) is gone leave. */
static void drop_gone_shadows(s6_rule_registry *reg)
{
    for (int i = 0; i < reg->n; i++) {
        s6_rule_entry *e = &reg->rules[i];
        if (!e->shadow_present || !e->present || e->good == NULL) {
            s6__reg_drop_shadow(reg, e);
            e->shadow_error[0] = '\0';
        }
    }
}

/* The registry's error is the first rule whose file on disk is refused
 * (its live file, then its shadow file). */
static void settle_error(s6_rule_registry *reg, const char *scan_err)
{
    reg->last_error[0] = '\0';
    for (int i = 0; i < reg->n && reg->last_error[0] == '\0'; i++)
        if (reg->rules[i].present && reg->rules[i].last_error[0] != '\0')
            snprintf(reg->last_error, sizeof reg->last_error, "%s",
                     reg->rules[i].last_error);
    for (int i = 0; i < reg->n && reg->last_error[0] == '\0'; i++)
        if (reg->rules[i].shadow_present &&
            reg->rules[i].shadow_error[0] != '\0')
            snprintf(reg->last_error, sizeof reg->last_error, "%s",
                     reg->rules[i].shadow_error);
    if (reg->last_error[0] == '\0' && reg->scan_note[0] != '\0')
        snprintf(reg->last_error, sizeof reg->last_error, "%s",
                 reg->scan_note);
    if (reg->last_error[0] == '\0' && scan_err != NULL)
        snprintf(reg->last_error, sizeof reg->last_error, "%s", scan_err);
}

int s6_registry_reload_finish(s6_rule_registry *reg, int changed,
                              const char *scan_err)
{
    char err[512] = "";
    settle_error(reg, changed < 0 ? scan_err : NULL);
    if (reg->last_error[0] != '\0')
        reg->reload_failures++;
    if (changed < 0)
        return changed;
    int removed = removed_any(reg);
    drop_gone_shadows(reg);
    if (changed + removed > 0 &&
        swap_live(reg, removed == 0, 1, err, sizeof err) != 0) {
        reg->reload_failures++;
        snprintf(reg->last_error, sizeof reg->last_error, "%s", err);
        return S6_EINVAL;
    }
    return changed + removed;
}

int s6_registry_reload(s6_rule_registry *reg)
{
    if (reg == NULL)
        return S6_EINVAL;
    char err[512] = "";
    reg->reloads++;
    int changed = scan(reg, err, sizeof err);
    return s6_registry_reload_finish(reg, changed, err);
}

int s6_registry_rebuild(s6_rule_registry *reg)
{
    if (reg == NULL)
        return S6_EINVAL;
    char err[512];
    int rc = swap_live(reg, 0, 1, err, sizeof err);
    if (rc != 0)
        snprintf(reg->last_error, sizeof reg->last_error, "%s", err);
    return rc;
}

/* What a faulting version goes back to: the last version that ran
 * cleanly, else the one before it; NULL when there is none. */
static const char *rollback_target(const s6_rule_entry *e, size_t *len,
                                   const char **hash)
{
    if (e->proven != NULL && strcmp(e->proven_hash, e->hash) != 0) {
        *len = e->proven_len;
        *hash = e->proven_hash;
        return e->proven;
    }
    *len = e->prev_len;
    *hash = e->prev_hash;
    return e->prev;
}

static void roll_back(s6_rule_registry *reg, s6_rule_entry *e)
{
    size_t len = 0;
    const char *hash = NULL;
    const char *src = rollback_target(e, &len, &hash);
    char *copy = dup_str(src, len);
    if (copy == NULL)
        return;
    snprintf(reg->last_error, sizeof reg->last_error,
             "%s: version %s rolled back to %s (%s) after %u faults: %s",
             e->chunkname, e->hash, hash,
             src == e->proven ? "the last that ran cleanly"
                              : "the one before; none ran cleanly yet",
             e->faults, e->last_error);
    memcpy(e->bad_hash, e->hash, sizeof e->hash);
    free(e->good);
    e->good = copy;
    e->good_len = len;
    memcpy(e->hash, hash, sizeof e->hash);
    free(e->prev);
    e->prev = NULL;
    e->faults = 0;
    e->clean = 0;
    e->rolled_back = 1;
    reg->rollbacks++;
}

/* A new rule has nothing to go back to: it leaves the live set until its
 * file changes, and stays in the registry's error until then. */
static void quarantine(s6_rule_registry *reg, s6_rule_entry *e)
{
    char why[sizeof e->last_error];
    snprintf(why, sizeof why, "%s", e->last_error);
    snprintf(e->last_error, sizeof e->last_error,
             "%.40s: version %s quarantined after %u faults: %.400s",
             e->chunkname, e->hash, e->faults, why);
    snprintf(reg->last_error, sizeof reg->last_error, "%s", e->last_error);
    e->quarantined = 1;
    e->faults = 0;
    reg->quarantines++;
}

int s6_registry_maintain(s6_rule_registry *reg)
{
    int dead = reg != NULL && reg->live != NULL && !s6_ruleset_alive(reg->live);
    if (reg == NULL || (!reg->rollback_pending && !dead))
        return 0;
    reg->rollback_pending = 0;
    int changed = dead;
    for (int i = 0; i < reg->n; i++) {
        s6_rule_entry *e = &reg->rules[i];
        if (e->good == NULL || e->quarantined ||
            e->faults < reg->rollback_faults)
            continue;
        size_t len;
        const char *hash;
        if (rollback_target(e, &len, &hash) != NULL)
            roll_back(reg, e);
        else
            quarantine(reg, e);
        changed = 1;
    }
    char err[512];
    if (!changed || swap_live(reg, 0, 0, err, sizeof err) != 0)
        return 0;
    reg->restarts += (unsigned)dead;
    return 1;
}

void s6_registry_batch_done(s6_rule_registry *reg, int rc)
{
    for (int i = 0; reg != NULL && i < reg->n; i++) {
        s6_rule_entry *e = &reg->rules[i];
        int ran = e->good != NULL && e->present && !e->quarantined;
        if (ran && rc == 0 && !e->faulted &&
            ++e->clean >= reg->clean_batches &&
            strcmp(e->proven_hash, e->hash) != 0) {
            char *copy = dup_str(e->good, e->good_len);
            if (copy != NULL) {
                free(e->proven);
                e->proven = copy;
                e->proven_len = e->good_len;
                memcpy(e->proven_hash, e->hash, sizeof e->hash);
            }
        }
        e->faulted = 0;
    }
}

int s6_registry_hashes(const s6_rule_registry *reg, const char **out,
                       size_t n)
{
    if (reg == NULL || (out == NULL && n > 0))
        return S6_EINVAL;
    for (size_t i = 0; i < n; i++)
        out[i] = (int)i < reg->n && reg->rules[i].good != NULL
                     ? reg->rules[i].hash : NULL;
    return reg->n;
}

void s6_registry_free(s6_rule_registry *reg)
{
    if (reg == NULL)
        return;
    drop_pending(reg);
    s6_ruleset_free(reg->live);
    s6_ruleset_free(reg->next);
    s6_ruleset_free(reg->shadow_set);
    for (int i = 0; i < reg->n; i++) {
        free(reg->rules[i].good);
        free(reg->rules[i].prev);
        free(reg->rules[i].proven);
        free(reg->rules[i].shadow);
    }
    memset(reg, 0, sizeof *reg);
}
