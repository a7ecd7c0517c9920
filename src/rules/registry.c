/* Rule files, their good versions, validate-then-swap and rollback. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/registry.h"
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

static s6_rule_entry *entry_for(s6_rule_registry *reg, const char *file)
{
    char name[S6_RULE_NAME_MAX];
    snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
    for (int i = 0; i < reg->n; i++)
        if (strcmp(reg->rules[i].name, name) == 0)
            return &reg->rules[i];
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

/* Builds (and self-checks, if check) a ruleset; the caller owns it on
 * success. */
static int build_set(s6_rule_registry *reg, const s6_rule_entry *cand,
                     const char *src, size_t len, int check, s6_ruleset **out,
                     char *err, size_t errlen)
{
    s6_rule_src srcs[S6_REG_MAX_RULES];
    size_t n = collect(reg, cand, src, len, srcs);
    int rc = s6_ruleset_new(&reg->opts, srcs, n, out, err, errlen);
    if (rc == 0 && check &&
        (rc = s6_ruleset_self_check(*out, err, errlen)) != 0) {
        s6_ruleset_free(*out);
        *out = NULL;
    }
    return rc;
}

int s6_registry_check_params(s6_rule_registry *reg,
                             const char *(*params_of)(void *, const char *),
                             void *ud, char *err, size_t errlen)
{
    const char *(*was)(void *, const char *) = reg->params_of;
    void *was_ud = reg->params_ud;
    reg->params_of = params_of;
    reg->params_ud = ud;
    s6_rule_src srcs[S6_REG_MAX_RULES];
    size_t n = collect(reg, NULL, NULL, 0, srcs);
    reg->params_of = was;
    reg->params_ud = was_ud;
    s6_ruleset *trial = NULL;
    int rc = s6_ruleset_new(&reg->opts, srcs, n, &trial, err, errlen);
    s6_ruleset_free(trial);
    return rc;
}

static void registry_fault(void *ud, const s6_rule_fault *f)
{
    s6_rule_registry *reg = ud;
    if (f->rule_id >= 0 && f->rule_id < reg->n) {
        s6_rule_entry *e = &reg->rules[f->rule_id];
        /* a rule that took its worker down gets no second chance */
        e->faults = f->fatal && e->faults < reg->rollback_faults
                        ? reg->rollback_faults : e->faults + 1;
        snprintf(e->last_error, sizeof e->last_error, "%s", f->message);
        if (e->faults >= reg->rollback_faults)
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
    return S6_OK;
}

static void set_good(s6_rule_entry *e, char *src, size_t len)
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
    e->last_error[0] = '\0';
}

/* reuse: the last accepted trial is exactly the set to go live.  A set of
 * versions that all passed their checks before is not checked again. */
static int swap_live(s6_rule_registry *reg, int reuse, char *err,
                     size_t errlen)
{
    s6_ruleset *next = reg->next;
    reg->next = NULL;
    if (!reuse) {
        s6_ruleset_free(next);
        next = NULL;
    }
    int rc = next != NULL ? 0 : build_set(reg, NULL, NULL, 0, 0, &next, err,
                                          errlen);
    if (rc != 0)
        return rc;
    s6_ruleset_free(reg->live);
    reg->live = next;
    reg->version++;
    return S6_OK;
}

/*
 * Visits every rule file: a new or changed one is a candidate, tried
 * together with the other good versions; a failing candidate is recorded
 * in its entry's last_error and never replaces its good version.
 */
static int scan(s6_rule_registry *reg, char *err, size_t errlen)
{
    struct dirent **names = NULL;
    int count = scandir(reg->dir, &names, is_rule_file, alphasort);
    if (count < 0) {
        snprintf(err, errlen, "%s: cannot read the rules folder", reg->dir);
        return S6_EINVAL;
    }
    /* Presence first: a candidate is tried with every rule still on disk,
     * whichever comes first in the folder. */
    s6_rule_entry **entries = calloc((size_t)count + 1, sizeof *entries);
    if (entries == NULL) {
        for (int i = 0; i < count; i++)
            free(names[i]);
        free(names);
        return S6_ERANGE;
    }
    for (int i = 0; i < reg->n; i++)
        reg->rules[i].present = 0;
    int changed = 0, overflow = 0;
    for (int i = 0; i < count; i++) {
        entries[i] = entry_for(reg, names[i]->d_name);
        if (entries[i] != NULL)
            entries[i]->present = 1;
        else if (!overflow++)
            snprintf(err, errlen, "%s: more than %d rules or path too long",
                     names[i]->d_name, S6_REG_MAX_RULES);
    }
    for (int i = 0; i < count; i++) {
        s6_rule_entry *e = entries[i];
        char *src = NULL;
        size_t len = 0;
        char hash[17];
        if (e == NULL)
            continue;
        if (read_file(e->chunkname, &src, &len, e->last_error,
                      sizeof e->last_error) != 0) {
            snprintf(err, errlen, "%s", e->last_error);
            continue;
        }
        s6_rule_hash(src, len, hash);
        if (e->good != NULL && strcmp(hash, e->hash) == 0) {
            e->last_error[0] = '\0'; /* back to the live text */
            free(src);
            continue;
        }
        s6_ruleset *trial = NULL;
        if (build_set(reg, e, src, len, 1, &trial, err, errlen) != 0) {
            snprintf(e->last_error, sizeof e->last_error, "%s", err);
            free(src);
            continue;
        }
        /* The trial holds every good version plus this one: if nothing
         * else changes, it is the next live set as it stands. */
        s6_ruleset_free(reg->next);
        reg->next = trial;
        set_good(e, src, len);
        changed++;
    }
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
    free(entries);
    return overflow ? S6_ERANGE : changed;
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
    return swap_live(reg, 1, err, errlen);
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

/* The registry's error is the first rule whose file on disk is refused. */
static void settle_error(s6_rule_registry *reg, const char *scan_err)
{
    reg->last_error[0] = '\0';
    for (int i = 0; i < reg->n && reg->last_error[0] == '\0'; i++)
        if (reg->rules[i].present && reg->rules[i].last_error[0] != '\0')
            snprintf(reg->last_error, sizeof reg->last_error, "%s",
                     reg->rules[i].last_error);
    if (reg->last_error[0] == '\0' && scan_err != NULL)
        snprintf(reg->last_error, sizeof reg->last_error, "%s", scan_err);
}

int s6_registry_reload(s6_rule_registry *reg)
{
    if (reg == NULL)
        return S6_EINVAL;
    char err[512] = "";
    reg->reloads++;
    int changed = scan(reg, err, sizeof err);
    settle_error(reg, changed < 0 ? err : NULL);
    if (reg->last_error[0] != '\0')
        reg->reload_failures++;
    if (changed < 0)
        return changed;
    int removed = removed_any(reg);
    if (changed + removed > 0 &&
        swap_live(reg, removed == 0, err, sizeof err) != 0) {
        reg->reload_failures++;
        snprintf(reg->last_error, sizeof reg->last_error, "%s", err);
        return S6_EINVAL;
    }
    return changed + removed;
}

int s6_registry_rebuild(s6_rule_registry *reg)
{
    if (reg == NULL)
        return S6_EINVAL;
    char err[512];
    int rc = swap_live(reg, 0, err, sizeof err);
    if (rc != 0)
        snprintf(reg->last_error, sizeof reg->last_error, "%s", err);
    return rc;
}

static void roll_back(s6_rule_registry *reg, s6_rule_entry *e)
{
    snprintf(reg->last_error, sizeof reg->last_error,
             "%s: version %s rolled back to %s after %u faults: %s",
             e->chunkname, e->hash, e->prev_hash, e->faults, e->last_error);
    free(e->good);
    e->good = e->prev;
    e->good_len = e->prev_len;
    memcpy(e->hash, e->prev_hash, sizeof e->hash);
    e->prev = NULL;
    e->faults = 0;
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
        if (e->prev != NULL)
            roll_back(reg, e);
        else
            quarantine(reg, e);
        changed = 1;
    }
    char err[512];
    if (!changed || swap_live(reg, 0, err, sizeof err) != 0)
        return 0;
    reg->restarts += (unsigned)dead;
    return 1;
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
    s6_ruleset_free(reg->live);
    s6_ruleset_free(reg->next);
    for (int i = 0; i < reg->n; i++) {
        free(reg->rules[i].good);
        free(reg->rules[i].prev);
    }
    memset(reg, 0, sizeof *reg);
}
