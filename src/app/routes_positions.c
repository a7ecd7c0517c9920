/*
 * Position routes: POST /positions/manage (a manual action through the
 * engine's host validation), GET /positions and GET /positions/{id}.
 *
 * The order of refusals is fixed: the token first (401, nothing read),
 * then the body and the idempotency key (400, no engine needed), then a
 * key already used (its kept answer again, or 422 for another request),
 * then the engine (503 when it is not running; its own 404/409/423
 * answers otherwise).
 */
#include "app/app.h"
#include "app/auth.h"
#include "app/manage_keys.h"
#include "app/routes.h"
#include "app/routes_positions.h"

#include <stdlib.h>
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

/* The request's idempotency key: the Idempotency-Key header or the body's
 * action_id, both only when equal.  *key is NULL when there is none;
 * false when the request was refused (answered). */
static bool manage_key(s6_http_res *res, const s6_http_req *req,
                       const s6_manage_req *mr, const char **key,
                       const char **field)
{
    const char *h = s6_http_req_header(req, "Idempotency-Key");
    const char *b = mr->action_id[0] ? mr->action_id : NULL;
    if (h != NULL && !s6_manage_key_ok(h)) {
        s6_http_res_error(res, 400, "invalid_value", "1 to 64 visible ASCII "
                          "characters, no space", "Idempotency-Key");
        return false;
    }
    if (h != NULL && b != NULL && strcmp(h, b) != 0) {
        s6_http_res_error(res, 400, "invalid_value", "differs from the "
                          "Idempotency-Key header", "action_id");
        return false;
    }
    *key = h != NULL ? h : b;
    *field = h != NULL ? "Idempotency-Key" : "action_id";
    return true;
}

/* A key seen before: the same request gets the kept answer again, and
 * nothing acts; another request under the key is refused.  True when the
 * request was answered here. */
static bool answered_before(s6_http_res *res, s6_app *app, const char *key,
                            const char *field, const char *request)
{
    const s6_manage_answer *a = s6_manage_keys_find(&app->manage_keys, key);
    if (a == NULL)
        return false;
    if (strcmp(a->request, request) != 0) {
        s6_http_res_error(res, 422, "idempotency_key_reused", "this key was "
                          "used for a different request; a new action needs "
                          "a new key", field);
        return true;
    }
    s6_http_res_note(res, "replayed", "true");
    s6_http_res_header(res, "Idempotent-Replayed", "true");
    s6_http_res_send(res, a->status, "application/json", a->body,
                     a->body_len);
    return true;
}

/* Sends the answer the engine wrote into the response and keeps it under
 * key (if any).  Only answers the engine acted on are kept: a refusal
 * changed nothing, so a retry under the same key is judged afresh. */
static void send_kept(s6_http_res *res, s6_app *app, const char *key,
                      const char *request, s6_jw *w)
{
    if (key != NULL && s6_jw_finish(w) == 0 &&
        s6_manage_keys_put(&app->manage_keys, key, request, 200, w->b->data,
                           w->b->len) != 0)
        s6_log_warn(app->log, "http", "idempotency key not kept",
                    S6_LOG_STR("key", key));
    s6_http_res_json_end(res, 200, w);
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
    s6_http_res_note(res, "pos_id", mr.position_id);
    const char *key = NULL, *field = NULL;
    if (!manage_key(res, req, &mr, &key, &field))
        return;
    char *request = key != NULL ? s6_manage_fingerprint(&mr) : NULL;
    if (key != NULL && request == NULL) {
        s6_http_res_error(res, 503, "no_memory", "out of memory", NULL);
        return;
    }
    if ((key != NULL && answered_before(res, app, key, field, request)) ||
        !s6_route_available(res, app->engine, "engine")) {
        free(request);
        return;
    }
    snprintf(mr.request_id, sizeof mr.request_id, "%s", req->request_id);
    err = (s6_api_error){ 0 };
    s6_jw w;
    char plan_id[64];
    s6_http_res_json_begin(res, &w);
    if (s6_engine_manage_write(app->engine, &mr, &w, plan_id, sizeof plan_id,
                               &err) != 0) {
        if (err.status == 404 && strcmp(err.code, "unknown_position") == 0)
            s6_route_not_here(res, app, mr.position_id, &err);
        else
            send_api_error(res, &err);
    } else {
        if (plan_id[0] != '\0')
            s6_http_res_note(res, "plan_id", plan_id);
        send_kept(res, app, key, request, &w);
    }
    free(request);
}

void s6_route_positions(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    s6_app *app = ud;
    if (!s6_route_available(res, app->engine, "engine"))
        return;
    s6_jw w;
    s6_http_res_json_begin(res, &w);
    s6_jw_obj(&w);
    s6_jw_key(&w, "positions");
    s6_engine_positions_write(app->engine, &w);
    s6_jw_key(&w, "shard");
    s6_route_shard_write(app, &w);
    s6_jw_end_obj(&w);
    s6_http_res_json_end(res, 200, &w);
}

void s6_route_position(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_app *app = ud;
    const char *id = s6_http_req_param(req, "id");
    s6_http_res_note(res, "pos_id", id);
    if (!s6_route_available(res, app->engine, "engine"))
        return;
    s6_jw w;
    s6_http_res_json_begin(res, &w);
    if (s6_engine_position_write(app->engine, id, &w) != 0) {
        s6_api_error e = { .status = 404, .code = "unknown_position",
                           .field = "id",
                           .message = "no position with this id" };
        s6_route_not_here(res, app, id, &e);
        return;
    }
    s6_http_res_json_end(res, 200, &w);
}
