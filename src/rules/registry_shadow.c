/* The registry's shadow versions: started, retired, promoted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/registry.h"
#include "rules/registry_internal.h"
#include "core/s6_core.h"

static void shadow_fault(void *ud, const s6_rule_fault *f)
{
    s6_rule_registry *reg = ud;
    if (f->rule_id >= 0 && f->rule_id < reg->n) {
        s6_rule_entry *e = &reg->rules[f->rule_id];
        /* a shadow that keeps failing, or took its worker down, retires:
         * it only ever had to prove itself */
        if (s6__reg_charge(f, reg->rollback_faults, &e->shadow_faults,
                           e->shadow_error, sizeof e->shadow_error))
            reg->shadow_dirty = 1;
    }
    if (reg->user_shadow_fault != NULL)
        reg->user_shadow_fault(reg->user_ud, f);
}

/* Retires the shadows that failed too often (their error stays). */
static void retire_failed_shadows(s6_rule_registry *reg)
{
    for (int i = 0; i < reg->n; i++) {
        s6_rule_entry *e = &reg->rules[i];
        if (e->shadow != NULL && e->shadow_faults > 0 &&
            e->shadow_faults >= reg->rollback_faults) {
            char why[sizeof e->shadow_error];
            snprintf(why, sizeof why, "%s", e->shadow_error);
            snprintf(e->shadow_error, sizeof e->shadow_error,
                     "shadow %s retired after %u faults: %.400s",
                     e->shadow_hash, e->shadow_faults, why);
            s6__reg_drop_shadow(reg, e);
        }
    }
}

static int start_shadows(s6_rule_registry *reg, const s6_rule_src *srcs,
                         size_t n)
{
    s6_ruleset_opts o = reg->opts;
    o.on_fault = shadow_fault;
    o.fault_ud = reg;
    char err[512] = "";
    int rc = s6_ruleset_new(&o, srcs, n, &reg->shadow_set, err, sizeof err);
    if (rc != 0)
        for (int i = 0; i < reg->n; i++)
            if (reg->rules[i].shadow != NULL)
                snprintf(reg->rules[i].shadow_error,
                         sizeof reg->rules[i].shadow_error,
                         "the shadows could not start: %.400s", err);
    return rc;
}

int s6_registry_shadow_sync(s6_rule_registry *reg, uint64_t now_ms)
{
    if (reg == NULL)
        return S6_EINVAL;
    int dead = reg->shadow_set != NULL && !s6_ruleset_alive(reg->shadow_set);
    if (!reg->shadow_dirty && !dead)
        return S6_OK;
    retire_failed_shadows(reg);
    reg->shadow_dirty = 0;
    s6_ruleset_free(reg->shadow_set);
    reg->shadow_set = NULL;
    s6_rule_src srcs[S6_REG_MAX_RULES];
    char (*chunks)[PATH_MAX] = malloc(S6_REG_MAX_RULES * sizeof *chunks);
    if (chunks == NULL)
        return S6_ENOMEM;
    size_t n = 0;
    for (int i = 0; i < reg->n; i++) {
        s6_rule_entry *e = &reg->rules[i];
        if (e->shadow == NULL || e->good == NULL || !e->present ||
            e->quarantined)
            continue;
        if (e->shadow_since_ms == 0)
            e->shadow_since_ms = now_ms;
        s6__reg_shadow_chunkname(e, chunks[n], sizeof chunks[n]);
        srcs[n] = (s6_rule_src){
            .id = e->id, .name = e->name, .chunkname = chunks[n],
            .source = e->shadow, .len = e->shadow_len,
            .params_json = reg->params_of != NULL
                               ? reg->params_of(reg->params_ud, e->name)
                               : NULL};
        n++;
    }
    int rc = S6_OK;
    if (n > 0)
        rc = start_shadows(reg, srcs, n);
    free(chunks);
    return rc;
}


static int write_text(const char *path, const char *text, size_t len,
                      char *err, size_t errlen)
{
    char tmp[PATH_MAX + 16];
    const char *slash = strrchr(path, '/');
    int dirlen = slash != NULL ? (int)(slash - path + 1) : 0;
    snprintf(tmp, sizeof tmp, "%.*s.promote-%s", dirlen, path,
             slash != NULL ? slash + 1 : path);
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL && fwrite(text, 1, len, f) == len;
    ok = f != NULL && fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%.400s: cannot write the promoted version",
                 path);
        (void)remove(tmp);
        return S6_EIO;
    }
    return S6_OK;
}

/* The rule named, when it has a shadow to promote; NULL with *rc and err
 * saying why otherwise. */
static s6_rule_entry *promotable(s6_rule_registry *reg, const char *name,
                                 int *rc, char *err, size_t errlen)
{
    s6_rule_entry *e = reg != NULL && name != NULL
                           ? s6__reg_entry_named(reg, name) : NULL;
    if (e == NULL || e->good == NULL) {
        snprintf(err, errlen, "no live rule '%.64s'", name ? name : "");
        *rc = S6_ENOTFOUND;
        return NULL;
    }
    if (e->shadow == NULL) {
        snprintf(err, errlen, "rule '%s' has no shadow to promote", name);
        *rc = S6_EINVAL;
        return NULL;
    }
    return e;
}

s6_rule_trial *s6_registry_promote_trial(s6_rule_registry *reg,
                                         const char *name, int *rc, char *err,
                                         size_t errlen)
{
    s6_rule_entry *e = promotable(reg, name, rc, err, errlen);
    if (e == NULL)
        return NULL;
    s6_rule_trial *t = calloc(1, sizeof *t);
    char *src = t != NULL ? malloc(e->shadow_len + 1) : NULL;
    if (src == NULL) {
        free(t);
        snprintf(err, errlen, "out of memory");
        *rc = S6_ENOMEM;
        return NULL;
    }
    memcpy(src, e->shadow, e->shadow_len);
    src[e->shadow_len] = '\0';
    /* the set as it will run: the shadow's text in place of the live one
     * (a quarantined one too), named as the file it is written to */
    s6__reg_trial_fill(reg, t, e->id, src, e->shadow_len);
    *rc = S6_OK;
    return t;
}

int s6_registry_promote_done(s6_rule_registry *reg, s6_rule_trial *t,
                             char *err, size_t errlen)
{
    s6_rule_entry *e = &reg->rules[t->entry];
    char hash[17];
    s6_rule_hash(t->src, t->len, hash);
    int rc = t->rc != 0 ? S6_ECONSTRAINT : S6_OK;
    if (rc != 0)
        snprintf(err, errlen, "%s", t->err);
    else if (e->shadow == NULL || e->good == NULL ||
             strcmp(hash, e->shadow_hash) != 0 || reg->version != t->version) {
        snprintf(err, errlen, "the rules of '%s' changed while its shadow "
                 "was checked; nothing was promoted", e->name);
        rc = S6_EBUSY;
    } else {
        rc = write_text(e->chunkname, e->shadow, e->shadow_len, err, errlen);
    }
    if (rc != 0) {
        s6_registry_trial_free(t);
        return rc;
    }
    char shadow_path[PATH_MAX + 96];
    int plen = snprintf(shadow_path, sizeof shadow_path, "%s/%s%s", reg->dir,
                        e->name, s6__reg_shadow_suffix);
    if (plen > 0 && (size_t)plen < sizeof shadow_path)
        (void)remove(shadow_path);
    char *src = e->shadow;
    e->shadow = NULL;
    e->shadow_hash[0] = '\0';
    e->shadow_present = 0;
    s6__reg_shadow_restart(e);
    s6__reg_set_good(e, src, e->shadow_len);
    s6_ruleset_free(reg->live);
    reg->live = t->set;
    t->set = NULL;
    s6_registry_trial_free(t);
    reg->version++;
    s6__reg_note_params(reg);
    reg->promotions++;
    reg->shadow_dirty = 1;
    return S6_OK;
}
