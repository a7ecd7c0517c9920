/*
 * live.c — the running configuration and its hot reload.
 *
 * Validate-then-swap: a changed file is loaded and validated in full into a
 * fresh s6_config; only a config that passed replaces the live one, and
 * only on the loop thread (the watcher's callback runs there), so every
 * reader sees either the old config or the new one, never half of each.
 * Keys read once at start (S6_CK_RESTART, e.g. http.port) keep their
 * running value in the swapped config and are reported as pending.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

static int load_fresh(const s6_config_live *live, s6_config *out,
                      s6_config_error *err)
{
    int rc = s6_config_load_file(live->path, out, err);
    if (rc == 0 && live->use_env && (rc = s6_config_apply_env(out, err)) != 0)
        s6_config_free(out);
    return rc;
}

int s6_config_live_init(s6_config_live *live, const char *path, bool use_env,
                        s6_log *log, s6_config_error *err)
{
    memset(live, 0, sizeof *live);
    memset(err, 0, sizeof *err);
    if (strlen(path) >= sizeof live->path) {
        snprintf(err->message, sizeof err->message, "config path too long");
        return -ENAMETOOLONG;
    }
    strcpy(live->path, path);
    strcpy(live->dir, path);
    char *d = dirname(live->dir); /* may point into dir or be static "." */
    memmove(live->dir, d, strlen(d) + 1);
    live->use_env = use_env;
    live->log = log;
    live->cur = calloc(1, sizeof *live->cur);
    if (live->cur == NULL)
        return -ENOMEM;
    int rc = load_fresh(live, live->cur, err);
    if (rc != 0) {
        free(live->cur);
        live->cur = NULL;
        return rc;
    }
    live->version = 1;
    return 0;
}

int s6_config_live_subscribe(s6_config_live *live, s6_config_sub_cb cb,
                             void *ud)
{
    if (cb == NULL || live->n_subs >= S6_CONFIG_MAX_SUBS)
        return -ENOSPC;
    live->subs[live->n_subs].cb = cb;
    live->subs[live->n_subs++].ud = ud;
    return 0;
}

typedef struct pending {
    const char *keys[S6_CONFIG_MAX_PENDING];
    unsigned n;
} pending;

/* Restart-only keys whose value changed keep the running one; the rest of
 * the new config must still be valid with them. */
static int pin_restart_keys(const s6_config_live *live, s6_config *fresh,
                            pending *pd, s6_config_error *err)
{
    const s6_config *cur = live->cur;
    json_t *doc = NULL;
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        const s6_cfg_key *k = &s6_config_keys[i];
        json_t *was = s6__config_get(cur->doc, k->path);
        if (!(k->flags & S6_CK_RESTART) ||
            json_equal(was, s6__config_get(fresh->doc, k->path)))
            continue;
        if (pd->n < S6_CONFIG_MAX_PENDING)
            pd->keys[pd->n++] = k->path;
        if (doc == NULL && (doc = s6__config_full_doc(fresh)) == NULL)
            return -ENOMEM;
        s6__config_set(doc, k->path, json_deep_copy(was));
    }
    if (doc == NULL)
        return 0;
    s6_config pinned;
    int rc = s6__config_build(doc, live->path, &pinned, err);
    if (rc != 0)
        return rc;
    s6_config_free(fresh);
    *fresh = pinned;
    return 0;
}

static int refuse(s6_config_live *live, const s6_config_error *err, int rc)
{
    live->failures++;
    live->has_error = true;
    live->last_error = *err;
    s6_log_warn(live->log, "config", "config refused, the running one stays",
                S6_LOG_STR("key", err->path), S6_LOG_STR("reason", err->reason),
                S6_LOG_STR("error", err->message));
    return rc;
}

static void note_pending(s6_config_live *live, const pending *pd)
{
    for (unsigned i = 0; i < pd->n; i++)
        s6_log_warn(live->log, "config", "key changed; takes effect on restart",
                    S6_LOG_STR("key", pd->keys[i]));
    memcpy(live->restart_pending, pd->keys, sizeof pd->keys);
    live->n_restart_pending = pd->n;
}

/* Subscribers see the old and the new config; the old one is freed after
 * the last of them returns. */
static void swap(s6_config_live *live, s6_config *next)
{
    s6_config *old = live->cur;
    live->cur = next;
    live->version++;
    live->reloads++;
    s6_log_info(live->log, "config", "config reloaded",
                S6_LOG_INT("version", live->version));
    for (unsigned i = 0; i < live->n_subs; i++)
        live->subs[i].cb(live, old, next, live->subs[i].ud);
    s6_config_free(old);
    free(old);
}

int s6_config_live_reload(s6_config_live *live)
{
    if (live->checking != NULL) {
        live->again = true;
        return 0;
    }
    s6_config fresh;
    s6_config_error err;
    pending pd = { .n = 0 };
    int rc = load_fresh(live, &fresh, &err);
    if (rc == 0 && (rc = pin_restart_keys(live, &fresh, &pd, &err)) != 0)
        s6_config_free(&fresh);
    if (rc != 0)
        return refuse(live, &err, rc);
    bool had_error = live->has_error;
    live->has_error = false;
    note_pending(live, &pd);
    if (json_equal(fresh.doc, live->cur->doc) &&
        s6__config_symbols_same(&fresh, live->cur)) {
        live->unchanged++;
        s6_config_free(&fresh);
        return 0;
    }
    if (live->check != NULL &&
        (rc = live->check(live->check_ud, &fresh, &err)) != 0) {
        s6_config_free(&fresh);
        return refuse(live, &err, rc < 0 ? rc : -EINVAL);
    }
    s6_config *next = malloc(sizeof *next);
    if (next == NULL) {
        s6_config_free(&fresh);
        snprintf(err.message, sizeof err.message, "out of memory");
        return refuse(live, &err, -ENOMEM);
    }
    *next = fresh;
    if (live->check_async != NULL) {
        live->has_error = had_error; /* until the answer says otherwise */
        live->checking = next;
        live->check_async(live->check_async_ud, next, live);
        return 0;
    }
    swap(live, next);
    return 1;
}

void s6_config_live_set_check_async(s6_config_live *live,
                                    s6_config_check_async_cb cb, void *ud)
{
    live->check_async = cb;
    live->check_async_ud = ud;
}

void s6_config_live_checked(s6_config_live *live, int rc,
                            const s6_config_error *err)
{
    s6_config *next = live->checking;
    live->checking = NULL;
    if (next == NULL)
        return;
    if (rc != 0) {
        s6_config_free(next);
        free(next);
        (void)refuse(live, err, rc < 0 ? rc : -EINVAL);
    } else {
        live->has_error = false;
        swap(live, next);
    }
    if (live->again) {
        live->again = false;
        (void)s6_config_live_reload(live);
    }
}

void s6_config_live_set_check(s6_config_live *live, s6_config_check_cb cb,
                              void *ud)
{
    live->check = cb;
    live->check_ud = ud;
}

static void on_change(s6_watch *w, void *ud)
{
    (void)w;
    s6_config_live_reload(ud);
}

int s6_config_live_watch(s6_config_live *live, uv_loop_t *loop,
                         uint64_t quiet_ms)
{
    int rc = s6_watch_start(&live->watch, loop, live->dir, ".json", quiet_ms,
                            on_change, live);
    live->watching = rc == 0;
    if (rc != 0)
        s6_log_error(live->log, "config", "cannot watch the config folder",
                     S6_LOG_STR("dir", live->dir),
                     S6_LOG_STR("error", uv_strerror(rc)));
    return rc;
}

/* Error text may quote the file's bytes; JSON strings must be UTF-8. */
static void text_or_null(s6_jw *w, const char *key, bool set, const char *s)
{
    if (!set || s6_jw_utf8_ok(s)) {
        s6_jw_kstr(w, key, set ? s : NULL);
        return;
    }
    char buf[sizeof ((s6_config_error *)0)->message];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof buf; i++)
        buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    buf[i] = '\0';
    s6_jw_kstr(w, key, buf);
}

void s6_config_live_health_write(const s6_config_live *live, s6_jw *w)
{
    s6_jw_obj(w);
    s6_jw_kstr(w, "path", live->path);
    s6_jw_kint(w, "version", (long long)live->version);
    s6_jw_kint(w, "reloads", (long long)live->reloads);
    s6_jw_kint(w, "failures", (long long)live->failures);
    text_or_null(w, "last_error", live->has_error, live->last_error.message);
    text_or_null(w, "last_error_key", live->has_error, live->last_error.path);
    s6_jw_karr(w, "restart_pending");
    for (unsigned i = 0; i < live->n_restart_pending; i++)
        s6_jw_str(w, live->restart_pending[i]);
    s6_jw_end_arr(w);
    s6_jw_end_obj(w);
}

json_t *s6_config_live_health(const s6_config_live *live)
{
    s6_buf b = { 0 };
    s6_jw w;
    s6_jw_init(&w, &b);
    s6_config_live_health_write(live, &w);
    return s6_jw_parse(&b, &w);
}

void s6_config_live_stop(s6_config_live *live)
{
    if (live->watching)
        s6_watch_stop(&live->watch);
    live->watching = false;
}

void s6_config_live_free(s6_config_live *live)
{
    if (live->checking != NULL) { /* its answer never comes now */
        s6_config_free(live->checking);
        free(live->checking);
        live->checking = NULL;
    }
    if (live->cur != NULL) {
        s6_config_free(live->cur);
        free(live->cur);
        live->cur = NULL;
    }
}
