/*
 * Operators' routes: the rules (GET /rules; reload and promote are in
 * routes_rules.c) and the kill switch (POST /control/pause, /control/resume).  Mutating routes need
 * the bearer token; bad input answers 4xx and changes nothing.
 */
#include "app/app.h"
#include "app/auth.h"
#include "app/routes.h"

#include <string.h>

const char *s6_route_token(const struct s6_app *app)
{
    return app->config != NULL ? s6_config_live_get(app->config)->auth.token
                               : NULL;
}

/* Answers 503 when the service runs without its rule host (tests). */
static bool rules_running(s6_http_res *res, const s6_app *app)
{
    if (!app->rules_on)
        s6_http_res_error(res, 503, "rules_off", "the rule host is not running",
                          NULL);
    return app->rules_on;
}

void s6_route_rules(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    if (!rules_running(res, app))
        return;
    s6_http_res_send_json(res, 200, s6_rules_svc_health(&app->rules));
}

/* The optional body {"symbol": "BTCUSDT", "reason": "..."}: *symbol NULL
 * means every symbol.  Answers the 4xx itself and returns false on bad
 * input. */
static bool read_scope(s6_http_res *res, const s6_http_req *req,
                       const s6_app *app, json_t **doc, const char **symbol)
{
    *doc = NULL;
    *symbol = NULL;
    if (req->body_len == 0)
        return true;
    json_error_t e;
    *doc = json_loadb(req->body, req->body_len, 0, &e);
    if (*doc == NULL || !json_is_object(*doc)) {
        char msg[256];
        snprintf(msg, sizeof msg, "the body is not a JSON object (line %d, "
                 "column %d: %s)", e.line, e.column,
                 *doc == NULL ? e.text : "not an object");
        s6_http_res_error(res, 400, "bad_json", msg, NULL);
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(*doc, k, v) {
        if (strcmp(k, "symbol") != 0 && strcmp(k, "reason") != 0) {
            s6_http_res_error(res, 400, "unknown_field",
                              "only symbol and reason are accepted", k);
            return false;
        }
        if (!json_is_string(v)) {
            s6_http_res_error(res, 400, "bad_type", "must be a string", k);
            return false;
        }
    }
    *symbol = json_string_value(json_object_get(*doc, "symbol"));
    const s6_config *c = app->config ? s6_config_live_get(app->config) : NULL;
    if (*symbol != NULL && c != NULL &&
        s6_config_symbol(c, S6_MARKET_FUT, *symbol) == NULL &&
        s6_config_symbol(c, S6_MARKET_SPOT, *symbol) == NULL) {
        s6_http_res_error(res, 404, "unknown_symbol",
                          "the symbol is not in the configuration", "symbol");
        return false;
    }
    return true;
}

static void set_pause(s6_http_res *res, const s6_http_req *req, s6_app *app,
                      bool paused)
{
    if (!s6_auth_require(res, req, s6_route_token(app)))
        return;
    json_t *doc;
    const char *symbol;
    if (!read_scope(res, req, app, &doc, &symbol)) {
        json_decref(doc);
        return;
    }
    if (s6_pause_set(&app->pause, symbol, paused) != 0) {
        s6_http_res_error(res, 409, "too_many", "too many symbols paused",
                          "symbol");
    } else {
        const char *reason = json_string_value(json_object_get(doc, "reason"));
        s6_log_warn(app->log, "control", paused ? "paused" : "resumed",
                    S6_LOG_STR("scope", symbol ? symbol : "all"),
                    S6_LOG_STR("reason", reason),
                    S6_LOG_STR("request_id", req->request_id));
        s6_jw w;
        s6_http_res_json_begin(res, &w);
        s6_pause_write(&app->pause, &w);
        s6_http_res_json_end(res, 200, &w);
    }
    json_decref(doc);
}

void s6_route_pause(s6_http_res *res, const s6_http_req *req, void *ud)
{
    set_pause(res, req, ud, true);
}

void s6_route_resume(s6_http_res *res, const s6_http_req *req, void *ud)
{
    set_pause(res, req, ud, false);
}

/* s6_paused{scope}: the kill switch at scrape time. */
int s6_collect_paused(s6_metrics *m, void *ud)
{
    const s6_app *app = ud;
    s6_gauge *g = NULL;
    if (app->pause.all) {
        (void)s6_gauge_get(m, "s6_paused", 1, S6_LABELS("all"), &g);
        s6_gauge_set(g, 1);
    }
    for (unsigned i = 0; i < app->pause.n; i++) {
        (void)s6_gauge_get(m, "s6_paused", 1, S6_LABELS(app->pause.symbols[i]), &g);
        s6_gauge_set(g, 1);
    }
    return 0;
}
