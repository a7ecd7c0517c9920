/*
 * routes_page.c — GET / (the status page) and GET /status/history (the
 * charts' series).  Both only read, like /positions: no token needed; the
 * page sends the operator's token with its own requests when it has one.
 */
#include "app/app.h"
#include "app/status_page.h"

/* Enough for a chart a few hundred pixels wide. */
enum { HIST_MAX_POINTS = 600 };

/* Scripts and styles inline, requests to S6 only: the page works without
 * a network and cannot be made to load anything from elsewhere. */
static const char page_policy[] =
    "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; img-src data:";

void s6_route_page(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    (void)ud;
    s6_http_res_header(res, "Content-Security-Policy", page_policy);
    s6_http_res_header(res, "Cache-Control", "no-store");
    s6_http_res_send(res, 200, "text/html; charset=utf-8",
                     (const char *)s6_status_page_html,
                     s6_status_page_html_len);
}

void s6_route_status_history(s6_http_res *res, const s6_http_req *req,
                             void *ud)
{
    (void)req;
    s6_app *app = ud;
    json_t *doc = s6_status_hist_json(&app->hist, HIST_MAX_POINTS);
    double alert = 0;
    if (app->config != NULL)
        alert = s6_config_live_get(app->config)->risk.liq_distance_alert_frac;
    json_object_set_new(doc, "alerts", json_pack("{s:o}", "liq_distance",
                                                 alert > 0 ? json_real(alert)
                                                           : json_null()));
    s6_http_res_send_json(res, 200, doc);
}
