/*
 * Position routes: POST /positions/manage (a manual action through the
 * engine's host validation), GET /positions and GET /positions/{id}.
 *
 * The order of refusals is fixed: the token first (401, nothing read),
 * then the body (400, no engine needed), then the engine (503 when it is
 * not running; its own 404/409/423 answers otherwise).
 */
#include "app/app.h"
#include "app/auth.h"
#include "app/routes.h"
#include "app/routes_positions.h"

#include <string.h>

bool s6_route_available(s6_http_res *res, const void *subsystem,
                        const char *what)
{
    if (subsystem != NULL)
        return true;
    char msg[96];
    snprintf(msg, sizeof msg, "the %s is not running", what);
    s6_http_res_error(res, 503, "unavailable", msg, NULL);
    return false;
}

static void send_api_error(s6_http_res *res, const s6_api_error *e)
{
    int status = e->status >= 400 && e->status <= 599 ? e->status : 500;
    s6_http_res_error(res, status, e->code[0] ? e->code : "internal",
                      e->message[0] ? e->message : "the engine refused",
                      e->field[0] ? e->field : NULL);
}

/* The plan id of an answer, for the access log. */
static void note_plan(s6_http_res *res, const json_t *doc)
{
    const char *plan_id = json_string_value(
        json_object_get(json_object_get(doc, "plan"), "plan_id"));
    if (plan_id != NULL)
        s6_http_res_note(res, "plan_id", plan_id);
}

void s6_route_manage(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_app *app = ud;
    if (!s6_auth_require(res, req, s6_route_token(app)))
        return;
    s6_manage_req mr;
    s6_api_error err;
    if (s6_manage_parse(req->body, req->body_len, &mr, &err) != 0) {
        send_api_error(res, &err);
        return;
    }
    snprintf(mr.request_id, sizeof mr.request_id, "%s", req->request_id);
    s6_http_res_note(res, "pos_id", mr.position_id);
    if (!s6_route_available(res, app->engine, "engine"))
        return;
    json_t *out = NULL;
    err = (s6_api_error){ 0 };
    if (s6_engine_manage(app->engine, &mr, &out, &err) != 0 || out == NULL) {
        json_decref(out);
        send_api_error(res, &err);
        return;
    }
    note_plan(res, out);
    s6_http_res_send_json(res, 200, out);
}

void s6_route_positions(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    if (!s6_route_available(res, app->engine, "engine"))
        return;
    json_t *list = s6_engine_positions_json(app->engine);
    s6_http_res_send_json(res, 200, list ? json_pack("{s:o}", "positions", list)
                                         : NULL);
}

void s6_route_position(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_app *app = ud;
    const char *id = s6_http_req_param(req, "id");
    s6_http_res_note(res, "pos_id", id);
    if (!s6_route_available(res, app->engine, "engine"))
        return;
    json_t *doc = s6_engine_position_json(app->engine, id);
    if (doc == NULL) {
        s6_http_res_error(res, 404, "unknown_position",
                          "no position with this id", "id");
        return;
    }
    s6_http_res_send_json(res, 200, doc);
}
