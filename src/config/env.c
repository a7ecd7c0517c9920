/*
 * env.c — the deploy basics from the environment (s6_config_envs): each
 * variable is checked on its own, so an error names it, then written into
 * the document, which is built again like a file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

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
    void *dst = (char *)&scratch + k->off;
    int rc = v == NULL ? fail(err, k->path, "not a valid %s",
                              s6_cfg_type_name(k->type))
                       : s6__config_decode(k, v, dst, k->path, err);
    s6__config_release(k, dst);
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
    json_t *doc = s6__config_full_doc(cfg);
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
