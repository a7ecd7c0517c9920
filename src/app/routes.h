/* routes.h — the service's route handlers (routes_status.c,
 * routes_positions.c, routes_ops.c); app.c's route table lists them.
 * Every handler's user data is the s6_app. */
#pragma once

#include "http/http.h"
#include "metrics/metrics.h"

/* routes_status.c */
void s6_route_health(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_ready(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_metrics(s6_http_res *res, const s6_http_req *req, void *ud);

/* routes_positions.c */
void s6_route_positions(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_position(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_manage(s6_http_res *res, const s6_http_req *req, void *ud);

/* Answers 503 {"error":{"code":"unavailable"}} and returns false when the
 * subsystem `what` ("engine", "treasury") is not running. */
bool s6_route_available(s6_http_res *res, const void *subsystem,
                        const char *what);

/* routes_shard.c */
struct s6_app;
struct s6_api_error;
/* {"index": k, "count": n}: the shard this instance serves. */
void s6_route_shard_write(const struct s6_app *app, s6_jw *w);
/* A position this instance does not hold: 421 naming the shard and its
 * holder when another shard serves it, else not_found's answer. */
void s6_route_not_here(s6_http_res *res, struct s6_app *app,
                       const char *pos_id,
                       const struct s6_api_error *not_found);

/* routes_ops.c */
/* The bearer token mutating routes require (NULL or "": refuse all). */
const char *s6_route_token(const struct s6_app *app);
void s6_route_rules(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_rules_reload(s6_http_res *res, const s6_http_req *req, void *ud);
/* POST /rules/promote {"rule": "<name>"}: the rule's shadow goes live. */
void s6_route_rules_promote(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_pause(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_resume(s6_http_res *res, const s6_http_req *req, void *ud);
int s6_collect_paused(s6_metrics *m, void *ud);
