/*
 * The treasury's routes: authorization and availability here, the request
 * handling in src/treasury/http.c (docs/treasury.md, docs/api.md).
 */
#include "app/routes_treasury.h"

#include "app/app.h"
#include "app/auth.h"
#include "app/routes.h"
#include "treasury/treasury.h"

typedef void (*s6__treasury_handler)(s6_treasury *t, s6_http_res *res,
                                     const s6_http_req *req);

static void serve(s6_http_res *res, const s6_http_req *req, s6_app *app,
                  s6__treasury_handler fn)
{
    if (!s6_auth_require(res, req, s6_route_token(app)))
        return;
    if (!s6_route_available(res, app->treasury, "treasury"))
        return;
    fn(app->treasury, res, req);
}

static void trigger(s6_http_res *res, const s6_http_req *req, void *ud)
{
    serve(res, req, ud, s6_treasury_http_trigger);
}

static void approval(s6_http_res *res, const s6_http_req *req, void *ud)
{
    serve(res, req, ud, s6_treasury_http_approval);
}

int s6_treasury_routes_register(s6_http_server *srv, s6_app *app)
{
    int rc = s6_http_route(srv, "POST", "/auto-transfer/trigger", trigger, app);
    return rc != 0 ? rc
                   : s6_http_route(srv, "POST", "/auto-transfer/approval",
                                   approval, app);
}
