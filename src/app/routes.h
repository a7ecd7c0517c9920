/* routes.h — handlers of the operators' routes (routes_ops.c); app.c's
 * route table lists them. */
#pragma once

#include "http/http.h"
#include "metrics/metrics.h"

void s6_route_rules(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_rules_reload(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_pause(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_resume(s6_http_res *res, const s6_http_req *req, void *ud);
int s6_collect_paused(s6_metrics *m, void *ud);
