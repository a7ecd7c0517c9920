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

int s6_registry_promote(s6_rule_registry *reg, const char *name, char *err,
                        size_t errlen)
{
    s6_rule_entry *e = reg != NULL && name != NULL
                           ? s6__reg_entry_named(reg, name) : NULL;
    if (e == NULL || e->good == NULL) {
        snprintf(err, errlen, "no live rule '%.64s'", name ? name : "");
        return S6_ENOTFOUND;
    }
    if (e->shadow == NULL) {
        snprintf(err, errlen, "rule '%s' has no shadow to promote", name);
        return S6_EINVAL;
    }
    /* the set as it will run, before anything on disk changes */
    char *live = e->good;
    size_t live_len = e->good_len;
    int quarantined = e->quarantined;
    e->good = e->shadow;
    e->good_len = e->shadow_len;
    e->quarantined = 0;
    s6_ruleset *next = NULL;
    int rc = s6__reg_build_set(reg, 0, &next, err, errlen);
    e->good = live;
    e->good_len = live_len;
    e->quarantined = quarantined;
    if (rc == 0)
        rc = write_text(e->chunkname, e->shadow, e->shadow_len, err, errlen);
    if (rc != 0) {
        s6_ruleset_free(next);
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
    reg->live = next;
    reg->version++;
    s6__reg_note_params(reg);
    reg->promotions++;
    reg->shadow_dirty = 1;
    return S6_OK;
}

