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
static void age_of(s6_jw *w, const char *key, double now, double at)
{
    if (at > 0 && isfinite(at))
        s6_jw_kreal(w, key, now - at);
    else
        s6_jw_knull(w, key);
}

/* The engine's view: a position without a confirmed stop, or a manage
 * tick that stopped coming, is what an operator must see first. */
static bool engine_check(const s6_app *app, s6_jw *w)
{
    s6_jw_obj(w);
    if (app->engine == NULL) {
        s6_jw_kbool(w, "ok", false);
        s6_jw_kbool(w, "running", false);
        s6_jw_end_obj(w);
        return false;
    }
    s6_engine_status st;
    s6_engine_get_status(app->engine, &st);
    double now = app_now(app);
    s6_jw_kbool(w, "ok", st.unprotected == 0);
    s6_jw_kbool(w, "running", true);
    s6_jw_kbool(w, "resumed", st.resumed);
    s6_jw_kint(w, "positions", (long long)st.positions);
    s6_jw_kint(w, "unprotected", (long long)st.unprotected);
    age_of(w, "last_tick_age_s", now, st.last_tick);
    age_of(w, "last_price_age_s", now, st.last_price);
    s6_jw_end_obj(w);
    return st.unprotected == 0;
}

/* The rule host's report is a tree (its rule list is open-ended). */
static bool rules_check(const s6_app *app, s6_jw *w)
{
    json_t *c = s6_rules_svc_health(&app->rules);
    bool ok = json_is_true(json_object_get(c, "ok"));
    if (c != NULL) {
        s6_jw_json(w, c);
    } else {
        s6_jw_obj(w);
        s6_jw_kbool(w, "ok", false);
        s6_jw_kstr(w, "error", "the check failed");
        s6_jw_end_obj(w);
    }
    json_decref(c);
    return ok;
}

/* Every check of the service, as the members of an object; returns false
 * when one fails.  The configuration and the kill switch inform rather
 * than fail: a refused reload keeps the previous good version running.
 * The rules degrade the service while what runs is not what the operator
 * chose (a file refused, a rule quarantined or rolled back, the worker
 * down); /ready stays as it is, since the stops and the guard still work
 * (docs/api.md).  The engine counts once it runs. */
static bool health_checks(const s6_app *app, s6_jw *w)
{
    bool ok = true;
    s6_jw_obj(w);
    if (app->config != NULL) {
        s6_jw_key(w, "config");
        s6_config_live_health_write(app->config, w);
    }
    if (app->rules_on) {
        s6_jw_key(w, "rules");
        ok &= rules_check(app, w);
    }
    s6_jw_key(w, "paused");
    s6_pause_write(&app->pause, w);
    for (unsigned i = 0; i < app->n_checks; i++) {
        const s6_app_check *h = &app->checks[i];
        s6_jw_key(w, h->name);
        ok &= h->fn(h->ud, w);
    }
    s6_jw_key(w, "engine");
    bool engine_ok = engine_check(app, w);
    s6_jw_end_obj(w);
    return ok && (engine_ok || app->engine == NULL);
}

void s6_route_health(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    long long uptime = (long long)((uv_now(app->loop) - app->started_ms) / 1000);
    /* the checks first: the head says whether they all passed */
    s6_buf_reset(&app->scratch);
    s6_jw checks;
    s6_jw_init(&checks, &app->scratch);
    bool ok = health_checks(app, &checks);
    s6_jw w;
    s6_http_res_json_begin(res, &w);
    s6_jw_obj(&w);
    s6_jw_kstr(&w, "status", ok ? "ok" : "degraded");
    s6_jw_kstr(&w, "service", S6_APP_SERVICE);
    s6_jw_kstr(&w, "version", S6_VERSION);
    s6_jw_kint(&w, "uptime_s", uptime);
    s6_jw_kbool(&w, "ready", s6_app_is_ready(app));
    s6_jw_key(&w, "checks");
    s6_jw_part(&w, &checks);
    s6_jw_end_obj(&w);
    s6_http_res_json_end(res, 200, &w);
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
