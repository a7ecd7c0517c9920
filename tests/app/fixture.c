#include "fixture.h"
#include "client.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CMD_STOP = 1, CMD_RELEASE, CMD_PING, CMD_CALL };

s6_http_limits fx_limits(void)
{
    s6_http_limits l = s6_http_limits_default();
    l.max_body = 1024;
    l.max_header_bytes = 4096;
    return l;
}

static void capture(void *ud, const char *line, size_t len)
{
    s6_buf_append(ud, line, len);
}

/* ---- test routes ---- */

static void on_defer(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    fx *f = ud;
    if (f->ndeferred == FX_MAX_DEFERRED) {
        s6_http_res_error(res, 503, "full", "too many deferred", NULL);
        return;
    }
    f->deferred[f->ndeferred++] = res;
    sem_post(&f->deferred_sem);
}

static json_t *headers_json(const s6_http_req *req)
{
    json_t *h = json_object();
    for (size_t i = 0; i < req->n_headers; i++)
        json_object_set_new(h, req->headers[i].name,
                            json_string(req->headers[i].value));
    return h;
}

static void on_echo(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)ud;
    const char *auth = s6_http_req_header(req, "authorization");
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s%,s:s?,s:s,s:o}",
                            "method", req->method, "path", req->path,
                            "query", req->query, "body", req->body,
                            req->body_len, "auth", auth, "request_id",
                            req->request_id, "headers", headers_json(req));
    s6_http_res_send_json(res, 200, doc);
}

static void on_item(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)ud;
    json_t *doc = json_pack("{s:s,s:s?,s:s?,s:I}", "route", "param", "id",
                            s6_http_req_param(req, "id"), "note",
                            s6_http_req_param(req, "note"), "n_params",
                            (json_int_t)req->n_params);
    s6_http_res_send_json(res, 200, doc);
}

static void on_special(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)ud;
    s6_http_res_send_json(res, 200, json_pack("{s:s,s:I}", "route", "exact",
                                              "n_params",
                                              (json_int_t)req->n_params));
}

/* Notes ids for the access log: pos_id from the path, a plan id, k3 and
 * k4; answers 500 when a limit of s6_http_res_note does not hold. */
static void on_noted(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)ud;
    const char *id = s6_http_req_param(req, "id");
    char plan[64];
    snprintf(plan, sizeof plan, "plan-%s", id);
    int rc = s6_http_res_note(res, "pos_id", "first");
    if (rc == 0)
        rc = s6_http_res_note(res, "pos_id", id); /* the last value wins */
    if (rc == 0)
        rc = s6_http_res_note(res, "plan_id", plan);
    /* the limits: a key too long, then a fifth key */
    bool limits = rc == 0 &&
        s6_http_res_note(res, "a_key_of_16_char", "v") == -EINVAL &&
        s6_http_res_note(res, "", "v") == -EINVAL &&
        s6_http_res_note(res, "k3", "v3") == 0 &&
        s6_http_res_note(res, "k4", "v4") == 0 &&
        s6_http_res_note(res, "k5", "v5") == -ENOSPC;
    s6_http_res_send_json(res, limits ? 201 : 500, json_pack("{s:i}", "rc", rc));
}

static const struct {
    const char *method, *pattern;
    s6_http_handler fn;
} routes[] = {
    { "POST", "/noted/{id}", on_noted },
    { "GET", "/defer", on_defer },
    { "POST", "/echo", on_echo },
    { "PUT", "/echo", on_echo },
    { "GET", "/items/{id}", on_item },
    { "GET", "/items/special", on_special },
    { "GET", "/items/{id}/notes/{note}", on_item },
};

/* ---- commands, run on the loop thread ---- */

static void on_stopped(s6_app *app, void *ud)
{
    (void)app;
    fx *f = ud;
    uv_close((uv_handle_t *)&f->wake, NULL);
}

static void release(fx *f)
{
    /* Completing one may let the server parse more /defer requests, which
     * join the list: release only those waiting now. */
    s6_http_res *now[FX_MAX_DEFERRED];
    int n = f->ndeferred;
    memcpy(now, f->deferred, sizeof now);
    f->ndeferred = 0;
    char body[32];
    for (int i = 0; i < n; i++) {
        int len = snprintf(body, sizeof body, "deferred-%d", ++f->released);
        s6_http_res_send(now[i], 200, "text/plain", body, (size_t)len);
    }
}

static void on_wake(uv_async_t *h)
{
    fx *f = h->data;
    int cmds[32], n;
    pthread_mutex_lock(&f->mu);
    n = f->ncmds;
    memcpy(cmds, f->cmds, sizeof cmds);
    f->ncmds = 0;
    pthread_mutex_unlock(&f->mu);
    for (int i = 0; i < n; i++) {
        if (cmds[i] == CMD_RELEASE)
            release(f);
        if (cmds[i] == CMD_PING) {
            f->waiting_seen = f->ndeferred;
            sem_post(&f->ping_sem);
        }
        if (cmds[i] == CMD_CALL) {
            f->call_fn(f->call_ud);
            sem_post(&f->call_sem);
        }
        if (cmds[i] == CMD_STOP)
            s6_app_stop(&f->app, on_stopped, f);
    }
}

static void post(fx *f, int cmd)
{
    pthread_mutex_lock(&f->mu);
    if (f->ncmds < 32)
        f->cmds[f->ncmds++] = cmd;
    pthread_mutex_unlock(&f->mu);
    uv_async_send(&f->wake);
}

static void *run(void *ud)
{
    fx *f = ud;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* The shipped config with the token from the environment, as the
 * service reads it. */
static int load_config(fx *f, const char *token)
{
    const char *path = getenv("S6_CONFIG");
    if (path == NULL)
        return -1;
    setenv("S6_AUTH_TOKEN", token, 1);
    s6_config_error err;
    int rc = s6_config_live_init(&f->config, path, true, &f->log, &err);
    unsetenv("S6_AUTH_TOKEN");
    f->has_config = rc == 0;
    return rc;
}

int fx_start(fx **out, const s6_http_limits *limits)
{
    return fx_start_opts(out, &(fx_opts){ .limits = limits });
}

int fx_start_opts(fx **out, const fx_opts *o)
{
    fx *f = calloc(1, sizeof *f);
    s6_app_config cfg;
    s6_app_config_default(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.http = o->limits ? *o->limits : fx_limits();
    pthread_mutex_init(&f->mu, NULL);
    sem_init(&f->deferred_sem, 0, 0);
    sem_init(&f->ping_sem, 0, 0);
    sem_init(&f->call_sem, 0, 0);
    s6_log_init(&f->log, S6_LOG_DEBUG);
    s6_log_set_sink(&f->log, capture, &f->log_lines);
    uv_loop_init(&f->loop);
    uv_async_init(&f->loop, &f->wake, on_wake);
    f->wake.data = f;
    *out = f;
    int rc = o->token ? load_config(f, o->token) : 0;
    cfg.config = f->has_config ? &f->config : NULL;
    if (rc == 0)
        rc = s6_app_start(&f->app, &f->loop, &f->log, &cfg);
    for (size_t i = 0; rc == 0 && i < sizeof routes / sizeof *routes; i++)
        rc = s6_http_route(f->app.http, routes[i].method, routes[i].pattern,
                           routes[i].fn, f);
    if (rc == 0 && o->before != NULL)
        rc = o->before(f, o->ud);
    f->port = rc == 0 ? s6_http_port(f->app.http) : 0;
    pthread_create(&f->thread, NULL, run, f);
    if (rc < 0)
        fx_stop(f);
    return rc;
}

void fx_call(fx *f, void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&f->mu);
    f->call_fn = fn;
    f->call_ud = ud;
    pthread_mutex_unlock(&f->mu);
    post(f, CMD_CALL);
    sem_wait(&f->call_sem);
}

void fx_release(fx *f)
{
    post(f, CMD_RELEASE);
}

int fx_ping(fx *f)
{
    post(f, CMD_PING);
    sem_wait(&f->ping_sem);
    return f->waiting_seen;
}

void fx_stop(fx *f)
{
    if (!f->stopped)
        post(f, CMD_STOP);
    f->stopped = true;
}

int fx_join(fx *f)
{
    if (!f->joined) {
        pthread_join(f->thread, NULL);
        f->loop_close_rc = uv_loop_close(&f->loop);
    }
    f->joined = true;
    return f->loop_close_rc;
}

int fx_free(fx *f)
{
    if (!f->stopped) {
        fx_release(f); /* a failed test may have left some waiting */
        fx_stop(f);
    }
    int rc = fx_join(f);
    s6_app_free(&f->app);
    if (f->has_config)
        s6_config_live_free(&f->config);
    int bad = 0;
    tc_json_lines(f->log_lines.data, &bad);
    s6_buf_free(&f->log_lines);
    sem_destroy(&f->deferred_sem);
    sem_destroy(&f->ping_sem);
    sem_destroy(&f->call_sem);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return rc != 0 ? rc : bad;
}
