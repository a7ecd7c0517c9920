#include "app/app.h"
#include "app/routes.h"

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
    s6_rules_svc_config *r = &cfg->rules;
    r->rules_dir = c->rules.dir;
    r->mem_limit = (size_t)c->rules.mem_limit_mb << 20;
    r->deadline_ms = c->rules.deadline_ms;
    r->deadline_us_per_eval = c->rules.deadline_us_per_eval;
    r->load_deadline_ms = c->rules.load_deadline_ms;
    r->rollback_faults = c->rules.rollback_faults;
    r->regimes = (const char *const *)c->rules.regimes.v;
    r->n_regimes = c->rules.regimes.n;
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

/* Each subsystem adds its entry as it arrives (Redis, rules, ...). */
static json_t *health_checks(const s6_app *app)
{
    json_t *checks = json_object();
    if (app->config != NULL)
        json_object_set_new(checks, "config", s6_config_live_health(app->config));
    if (app->rules_on)
        json_object_set_new(checks, "rules", s6_rules_svc_health(&app->rules));
    json_object_set_new(checks, "paused", s6_pause_json(&app->pause));
    return checks;
}

static void on_health(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    json_int_t uptime = (json_int_t)((uv_now(app->loop) - app->started_ms) / 1000);
    s6_http_res_send_json(res, 200,
                          json_pack("{s:s,s:s,s:s,s:I,s:o}", "status", "ok",
                                    "service", S6_APP_SERVICE, "version",
                                    S6_VERSION, "uptime_s", uptime, "checks",
                                    health_checks(app)));
}

static void on_metrics(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    s6_buf out = {0};
    if (s6_metrics_render(app->metrics, &out) != 0) {
        s6_http_res_error(res, 500, "metrics_failed",
                          s6_metrics_last_error(app->metrics), NULL);
    } else {
        s6_http_res_send(res, 200, S6_METRICS_CONTENT_TYPE, out.data, out.len);
    }
    s6_buf_free(&out);
}

static const struct {
    const char *method, *path;
    s6_http_handler fn;
} routes[] = {
    { "GET", "/health", on_health },
    { "GET", "/metrics", on_metrics },
    { "GET", "/rules", s6_route_rules },
    { "POST", "/rules/reload", s6_route_rules_reload },
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
    return 0;
}

/* ---- life cycle ---- */

/* Overrides for a rule that does not exist ("atr_stp") would do nothing:
 * refuse them where the config meets the rules. */
static int check_rule_names(const s6_app *app, char *err, size_t errlen)
{
    if (app->config == NULL)
        return 0;
    const char *names[S6_REG_MAX_RULES];
    size_t n = 0;
    for (int i = 0; i < app->rules.reg.n; i++)
        if (app->rules.reg.rules[i].present)
            names[n++] = app->rules.reg.rules[i].name;
    s6_config_error e;
    if (s6_config_check_rule_names(s6_config_live_get(app->config), names, n,
                                   &e) == 0)
        return 0;
    snprintf(err, errlen, "%s", e.message);
    return -EINVAL;
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
    rc = start_rules(app, cfg);
    if (rc < 0)
        return rc;
    rc = s6_http_server_new(&app->http, loop, &cfg->http, log);
    if (rc == 0)
        rc = add_routes(app);
    if (rc == 0)
        rc = s6_http_listen(app->http, cfg->host, cfg->port);
    if (rc < 0) {
        s6_log_error(log, "app", "cannot start the HTTP server",
                     S6_LOG_STR("host", cfg->host), S6_LOG_INT("port", cfg->port),
                     S6_LOG_STR("error", uv_strerror(rc)));
        return rc;
    }
    if (app->config != NULL) {
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
    if (app->rules_on)
        s6_rules_svc_free(&app->rules);
    app->rules_on = false;
    s6_http_server_free(app->http);
    app->http = NULL;
}
