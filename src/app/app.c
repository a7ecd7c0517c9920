#include "app/app.h"
#include "app/routes.h"
#include "app/routes_treasury.h"
#include "app/status_page.h"
#include "engine/engine.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifndef S6_VERSION
#define S6_VERSION "0.0.0"
#endif

void s6_app_config_default(s6_app_config *cfg)
{
    *cfg = (s6_app_config){
        .host = "0.0.0.0",
        .port = S6_APP_DEFAULT_PORT,
        .http = s6_http_limits_default(),
    };
    s6_rules_svc_config_default(&cfg->rules);
}

void s6_app_config_from(s6_app_config *cfg, const s6_config *c)
{
    cfg->host = c->http.host;
    cfg->port = (int)c->http.port;
    cfg->http.max_body = c->http.max_body_bytes;
    cfg->http.header_timeout_ms = c->http.header_timeout_ms;
    cfg->http.idle_timeout_ms = c->http.idle_timeout_ms;
    s6_rules_svc_config_from(&cfg->rules, c);
}

int s6_app_parse_port(const char *text, int *port)
{
    size_t n = text ? strspn(text, "0123456789") : 0;
    if (n == 0 || n > 5 || text[n] != '\0')
        return -EINVAL;
    long v = strtol(text, NULL, 10);
    if (v < 1 || v > 65535)
        return -EINVAL;
    *port = (int)v;
    return 0;
}

/* ---- routes ---- */

static const struct {
    const char *method, *path;
    s6_http_handler fn;
} routes[] = {
    { "GET", "/", s6_route_page },
    { "GET", "/status/history", s6_route_status_history },
    { "GET", "/health", s6_route_health },
    { "GET", "/ready", s6_route_ready },
    { "GET", "/metrics", s6_route_metrics },
    { "GET", "/positions", s6_route_positions },
    { "GET", "/positions/{id}", s6_route_position },
    { "POST", "/positions/manage", s6_route_manage },
    { "GET", "/rules", s6_route_rules },
    { "POST", "/rules/reload", s6_route_rules_reload },
    { "POST", "/rules/promote", s6_route_rules_promote },
    { "POST", "/control/pause", s6_route_pause },
    { "POST", "/control/resume", s6_route_resume },
};

static int add_routes(s6_app *app)
{
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        int rc = s6_http_route(app->http, routes[i].method, routes[i].path,
                               routes[i].fn, app);
        if (rc < 0)
            return rc;
    }
    /* POST /auto-transfer/trigger and /auto-transfer/approval */
    return s6_treasury_routes_register(app->http, app);
}

/* s6_http_requests_total{route,method,code} and s6_http_request_seconds:
 * a path no route matched counts as "unmatched", so a scan of random
 * paths cannot grow the series. */
static const char unmatched[] = "unmatched";

static s6_app_req_series *req_series(s6_app *app, const s6_http_done *d)
{
    const char *route = d->route ? d->route : unmatched;
    uintptr_t h = ((uintptr_t)route >> 3) ^ ((uintptr_t)d->req->method >> 3) ^
                  (uintptr_t)d->status * 2654435761u;
    s6_app_req_series *s = &app->req_series[h % S6_APP_REQ_SERIES];
    if (s->count != NULL && s->route == route && s->method == d->req->method &&
        s->status == d->status)
        return s;
    char code[8];
    snprintf(code, sizeof code, "%d", d->status);
    *s = (s6_app_req_series){ .route = route, .method = d->req->method,
                              .status = d->status };
    (void)s6_counter_get(app->metrics, "s6_http_requests_total", 3,
                         S6_LABELS(route, d->req->method, code), &s->count);
    (void)s6_hist_get(app->metrics, "s6_http_request_seconds", 1,
                      S6_LABELS(route), &s->seconds);
    return s;
}

static void on_request_done(void *ud, const s6_http_done *d)
{
    s6_app_req_series *s = req_series(ud, d);
    s6_counter_inc(s->count);
    s6_hist_observe(s->seconds, d->seconds);
}

/* ---- what the service plugs in ---- */

static bool name_ok(const char *name)
{
    return name != NULL && *name != '\0' && strlen(name) <= S6_APP_NAME_MAX;
}

int s6_app_set_ready(s6_app *app, const char *component, bool ok)
{
    if (!name_ok(component))
        return -EINVAL;
    unsigned i = 0;
    while (i < app->n_ready && strcmp(app->ready[i].name, component) != 0)
        i++;
    if (i == S6_APP_MAX_READY)
        return -ENOSPC;
    if (i == app->n_ready) {
        strcpy(app->ready[i].name, component);
        app->n_ready++;
    }
    if (app->ready[i].ok != ok)
        s6_log_info(app->log, "app", ok ? "component ready"
                                        : "component not ready",
                    S6_LOG_STR("component", component));
    app->ready[i].ok = ok;
    return 0;
}

bool s6_app_is_ready(const s6_app *app)
{
    for (unsigned i = 0; i < app->n_ready; i++)
        if (!app->ready[i].ok)
            return false;
    return !app->stopping;
}

int s6_app_add_check(s6_app *app, const char *name, s6_app_check_fn fn,
                     void *ud)
{
    if (!name_ok(name) || fn == NULL)
        return -EINVAL;
    static const char *const own[] = { "config", "rules", "paused", "engine" };
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (strcmp(own[i], name) == 0)
            return -EEXIST;
    for (unsigned i = 0; i < app->n_checks; i++)
        if (strcmp(app->checks[i].name, name) == 0)
            return -EEXIST;
    if (app->n_checks == S6_APP_MAX_CHECKS)
        return -ENOSPC;
    s6_app_check *c = &app->checks[app->n_checks++];
    strcpy(c->name, name);
    c->fn = fn;
    c->ud = ud;
    return 0;
}

/* The engine asks before any work that is not protective. */
static bool pause_blocks(void *ud, const char *symbol, int purpose)
{
    (void)purpose;
    const s6_app *app = ud;
    return s6_pause_blocks(&app->pause, symbol);
}

void s6_app_set_engine(s6_app *app, s6_engine *engine)
{
    app->engine = engine;
    s6_status_hist_follow(&app->hist, engine);
    if (engine != NULL)
        s6_engine_set_pause(engine, pause_blocks, app);
}

/* ---- life cycle ---- */

/* Overrides for a rule that does not exist ("atr_stp") would do nothing:
 * refuse them where the config meets the rules. */
static int check_names_in(const s6_app *app, const s6_config *cfg,
                          s6_config_error *e)
{
    const char *names[S6_REG_MAX_RULES];
    size_t n = 0;
    for (int i = 0; i < app->rules.reg.n; i++)
        if (app->rules.reg.rules[i].present)
            names[n++] = app->rules.reg.rules[i].name;
    return s6_config_check_rule_names(cfg, names, n, e);
}

static int check_rule_names(const s6_app *app, char *err, size_t errlen)
{
    s6_config_error e;
    if (app->config == NULL ||
        check_names_in(app, s6_config_live_get(app->config), &e) == 0)
        return 0;
    /* cut to errlen on purpose: the whole story is in the log */
    size_t len = strnlen(e.message, errlen - 1);
    memcpy(err, e.message, len);
    err[len] = '\0';
    return -EINVAL;
}

static const char *params_in(void *cfg, const char *rule)
{
    return s6_config_rule_params(cfg, rule);
}

/* Before a reload swaps: the rule names (here, in C) ... */
static int check_config(void *ud, const s6_config *fresh, s6_config_error *e)
{
    s6_app *app = ud;
    if (!app->rules_on || check_names_in(app, fresh, e) == 0)
        return 0;
    s6_config_error named = *e; /* the setter starts afresh */
    return s6_config_error_set(e, app->config->path, named.path, named.reason);
}

static void params_tried(void *ud, int rc, const char *msg)
{
    s6_app *app = ud;
    s6_config_error e;
    memset(&e, 0, sizeof e);
    if (rc != 0) {
        /* "rules.params.<rule>.<path>: why", as the rule host words it */
        char text[sizeof e.message];
        snprintf(text, sizeof text, "%s", msg != NULL ? msg : "refused");
        char *sep = strstr(text, ": ");
        if (sep != NULL && strncmp(text, "rules.params", 12) == 0) {
            *sep = '\0';
            (void)s6_config_error_set(&e, app->config->path, text, sep + 2);
        } else {
            (void)s6_config_error_set(&e, app->config->path, "rules.params",
                                      text);
        }
    }
    s6_config_live_checked(app->config, rc, &e);
}

/* ... then every override against its rule's schema, and the rule set
 * built, probed and self-checked with the new parameters, in a rule worker
 * off the event loop: a bad parameter is refused like any config error,
 * the running config and rule set stay together, and the set that passed
 * goes live with the config without being built again. */
static void check_params(void *ud, const s6_config *fresh, s6_config_live *live)
{
    s6_app *app = ud;
    (void)live;
    if (!app->rules_on) {
        s6_config_live_checked(app->config, 0, NULL);
        return;
    }
    s6_rules_svc_try_params(&app->rules, params_in, (void *)fresh,
                            params_tried, app);
}

/* Rule parameters come from the configuration running at the time a rule
 * set is built, so a reload of either picks up the other. */
static const char *rule_params(void *ud, const char *rule)
{
    const s6_app *app = ud;
    return s6_config_rule_params(s6_config_live_get(app->config), rule);
}

/* Hot keys: the rule settings rebuild the rule set (validate-then-swap);
 * the log level applies at once.  Keys that need a restart are reported by
 * the config's own health. */
static void on_config(s6_config_live *live, const s6_config *old,
                      const s6_config *cur, void *ud)
{
    (void)live;
    (void)old;
    s6_app *app = ud;
    app->log->level = (s6_log_level)cur->log.level;
    if (!app->rules_on)
        return;
    s6_app_config fresh = {.rules = app->rules_cfg};
    s6_app_config_from(&fresh, cur);
    fresh.rules.params_of = rule_params;
    fresh.rules.params_ud = app;
    app->rules_cfg = fresh.rules;
    char err[512];
    if (check_rule_names(app, err, sizeof err) != 0)
        s6_log_error(app->log, "config", "rule parameters for an unknown rule "
                     "do nothing", S6_LOG_STR("error", err));
    s6_rules_svc_reconfigure(&app->rules, &app->rules_cfg);
}

/* A service without its policy would manage positions by defaults nobody
 * chose: a rule that fails at start-up stops the start. */
static int start_rules(s6_app *app, const s6_app_config *cfg)
{
    if (!cfg->with_rules)
        return 0;
    char err[1024] = "";
    app->rules_cfg = cfg->rules;
    if (app->config != NULL) {
        app->rules_cfg.params_of = rule_params;
        app->rules_cfg.params_ud = app;
    }
    int rc = s6_rules_svc_start(&app->rules, app->loop, app->log, app->metrics,
                                &app->rules_cfg, err, sizeof err);
    if (rc == 0)
        rc = check_rule_names(app, err, sizeof err);
    app->rules_on = true; /* even half-started, so stop and free clean up */
    if (rc != 0) {
        s6_log_error(app->log, "rules", "cannot load the rules",
                     S6_LOG_STR("rules_dir", cfg->rules.rules_dir),
                     S6_LOG_STR("error", err));
        return rc < 0 ? rc : -EINVAL;
    }
    return 0;
}

int s6_app_start(s6_app *app, uv_loop_t *loop, s6_log *log,
                 const s6_app_config *cfg)
{
    *app = (s6_app){ .loop = loop, .log = log, .started_ms = uv_now(loop),
                     .config = cfg->config };
    int rc = s6_metrics_new_service(&app->metrics);
    if (rc < 0) {
        s6_log_error(log, "app", "cannot create the metrics registry");
        return rc;
    }
    s6_metrics_add_collector(app->metrics, s6_collect_paused, app);
    rc = s6_status_hist_start(&app->hist, loop, app->config, 0);
    if (rc == 0)
        rc = start_rules(app, cfg);
    if (rc < 0)
        return rc;
    rc = s6_http_server_new(&app->http, loop, &cfg->http, log);
    if (rc == 0) {
        s6_http_on_done(app->http, on_request_done, app);
        rc = add_routes(app);
    }
    if (rc == 0)
        rc = s6_http_listen(app->http, cfg->host, cfg->port);
    if (rc < 0) {
        s6_log_error(log, "app", "cannot start the HTTP server",
                     S6_LOG_STR("host", cfg->host), S6_LOG_INT("port", cfg->port),
                     S6_LOG_STR("error", uv_strerror(rc)));
        return rc;
    }
    if (app->config != NULL) {
        s6_config_live_set_check(app->config, check_config, app);
        s6_config_live_set_check_async(app->config, check_params, app);
        s6_config_live_subscribe(app->config, on_config, app);
        rc = s6_config_live_watch(app->config, loop, 50);
        if (rc < 0)
            s6_log_warn(log, "config", "cannot watch the configuration; "
                        "changes need a restart", S6_LOG_STR("error", uv_strerror(rc)));
    }
    s6_log_info(log, "app", "listening", S6_LOG_STR("host", cfg->host),
                S6_LOG_INT("port", s6_http_port(app->http)),
                S6_LOG_STR("version", S6_VERSION));
    return 0;
}

static const struct {
    int signum;
    const char *name;
} stop_signals[] = { { SIGINT, "SIGINT" }, { SIGTERM, "SIGTERM" } };

static void on_signal(uv_signal_t *h, int signum)
{
    s6_app *app = h->data;
    const char *name = "?";
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
        if (stop_signals[i].signum == signum)
            name = stop_signals[i].name;
    s6_log_info(app->log, "app", app->stopping ? "stopping now" : "stopping",
                S6_LOG_STR("signal", name));
    s6_app_stop(app, app->stopped_cb, app->stopped_ud);
}

int s6_app_handle_signals(s6_app *app)
{
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++) {
        uv_signal_t *h = &app->signals[app->n_signals];
        int rc = uv_signal_init(app->loop, h);
        if (rc < 0)
            return rc;
        h->data = app;
        app->n_signals++;
        rc = uv_signal_start(h, on_signal, stop_signals[i].signum);
        if (rc < 0)
            return rc;
        /* A signal alone must not keep the loop alive once all else ends. */
        uv_unref((uv_handle_t *)h);
    }
    return 0;
}

static void on_http_closed(s6_http_server *srv, void *ud)
{
    (void)srv;
    s6_app *app = ud;
    /* Signal handles stay until here, so a second signal can still cut the
     * drain short instead of killing the process mid-write. */
    for (unsigned i = 0; i < app->n_signals; i++)
        uv_close((uv_handle_t *)&app->signals[i], NULL);
    app->n_signals = 0;
    s6_log_info(app->log, "app", "stopped");
    if (app->stopped_cb != NULL)
        app->stopped_cb(app, app->stopped_ud);
}

void s6_app_stop(s6_app *app, s6_app_stopped_cb cb, void *ud)
{
    app->stopping = true;
    s6_status_hist_stop(&app->hist);
    if (app->config != NULL)
        s6_config_live_stop(app->config);
    if (app->rules_on)
        s6_rules_svc_stop(&app->rules);
    app->stopped_cb = cb;
    app->stopped_ud = ud;
    if (app->http != NULL) {
        s6_http_shutdown(app->http, on_http_closed, app);
        return;
    }
    on_http_closed(NULL, app);
}

void s6_app_free(s6_app *app)
{
    s6_metrics_free(app->metrics);
    app->metrics = NULL;
    s6_status_hist_free(&app->hist);
    if (app->rules_on)
        s6_rules_svc_free(&app->rules);
    app->rules_on = false;
    s6_http_server_free(app->http);
    app->http = NULL;
    s6_manage_keys_free(&app->manage_keys);
    s6_buf_free(&app->scratch);
}
