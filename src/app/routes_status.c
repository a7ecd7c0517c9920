/*
 * Status routes: GET /health (liveness and every check), GET /ready (may a
 * load balancer send work here), GET /metrics.  None needs the token: they
 * change nothing and show no secret.
 */
#include "app/app.h"
#include "app/routes.h"
#include "engine/engine.h"
#include "util/clock.h"

#include <math.h>
#include <string.h>

#ifndef S6_VERSION
#define S6_VERSION "0.0.0"
#endif

static double app_now(const s6_app *app)
{
    return app->clock != NULL ? app->clock(app->clock_ud) : s6_clock_wall_s();
}

/* Seconds since `at` on the engine's clock; null when it never happened. */
static json_t *age_of(double now, double at)
{
    return at > 0 && isfinite(at) ? json_real(now - at) : json_null();
}

/* The engine's view: a position without a confirmed stop, or a manage
 * tick that stopped coming, is what an operator must see first. */
static json_t *engine_check(const s6_app *app)
{
    if (app->engine == NULL)
        return json_pack("{s:b,s:b}", "ok", false, "running", false);
    s6_engine_status st;
    s6_engine_get_status(app->engine, &st);
    double now = app_now(app);
    return json_pack("{s:b,s:b,s:b,s:I,s:I,s:o,s:o}", "ok",
                     st.unprotected == 0, "running", true, "resumed",
                     st.resumed, "positions", (json_int_t)st.positions,
                     "unprotected", (json_int_t)st.unprotected,
                     "last_tick_age_s", age_of(now, st.last_tick),
                     "last_price_age_s", age_of(now, st.last_price));
}

static bool check_ok(const json_t *c)
{
    return json_is_true(json_object_get(c, "ok"));
}

/* Adds `c` under `name`; returns whether it is ok. */
static bool add_check(json_t *checks, const char *name, json_t *c)
{
    if (c == NULL)
        c = json_pack("{s:b,s:s}", "ok", false, "error", "the check failed");
    bool ok = check_ok(c);
    json_object_set_new(checks, name, c);
    return ok;
}

/* Every check of the service; *ok turns false when one fails.  The
 * configuration and the kill switch inform rather than fail: a refused
 * reload keeps the previous good version running.  The rules degrade the
 * service while what runs is not what the operator chose (a file refused,
 * a rule quarantined or rolled back, the worker down); /ready stays as it
 * is, since the stops and the guard still work (docs/api.md). */
static json_t *health_checks(const s6_app *app, bool *ok)
{
    json_t *checks = json_object();
    if (app->config != NULL)
        json_object_set_new(checks, "config", s6_config_live_health(app->config));
    if (app->rules_on)
        *ok &= add_check(checks, "rules", s6_rules_svc_health(&app->rules));
    json_object_set_new(checks, "paused", s6_pause_json(&app->pause));
    for (unsigned i = 0; i < app->n_checks; i++) {
        const s6_app_check *h = &app->checks[i];
        *ok &= add_check(checks, h->name, h->fn(h->ud));
    }
    if (app->engine != NULL)
        *ok &= add_check(checks, "engine", engine_check(app));
    else
        json_object_set_new(checks, "engine", engine_check(app));
    return checks;
}

void s6_route_health(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    json_int_t uptime = (json_int_t)((uv_now(app->loop) - app->started_ms) / 1000);
    bool ok = true;
    json_t *checks = health_checks(app, &ok);
    s6_http_res_send_json(res, 200,
                          json_pack("{s:s,s:s,s:s,s:I,s:b,s:o}", "status",
                                    ok ? "ok" : "degraded", "service",
                                    S6_APP_SERVICE, "version", S6_VERSION,
                                    "uptime_s", uptime, "ready",
                                    s6_app_is_ready(app), "checks", checks));
}

void s6_route_ready(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    json_t *components = json_object();
    json_t *waiting = json_array();
    for (unsigned i = 0; i < app->n_ready; i++) {
        json_object_set_new(components, app->ready[i].name,
                            json_boolean(app->ready[i].ok));
        if (!app->ready[i].ok)
            json_array_append_new(waiting, json_string(app->ready[i].name));
    }
    if (app->stopping)
        json_array_append_new(waiting, json_string("stopping"));
    bool ready = json_array_size(waiting) == 0;
    json_t *doc = json_pack("{s:b,s:o,s:o}", "ready", ready, "components",
                            components, "waiting", waiting);
    /* Not ready is not an error of the request, but clients that only
     * read the error shape still learn why. */
    if (!ready)
        json_object_set_new(doc, "error",
                            json_pack("{s:s,s:s,s:n}", "code", "not_ready",
                                      "message", "components are not ready "
                                      "yet (see waiting)", "field"));
    s6_http_res_send_json(res, ready ? 200 : 503, doc);
}

void s6_route_metrics(s6_http_res *res, const s6_http_req *req, void *ud)
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
