/* routes_treasury.h — the treasury's routes (src/treasury/treasury.h does
 * the work): POST /auto-transfer/trigger and POST /auto-transfer/approval,
 * both behind the bearer token. */
#pragma once

#include "http/http.h"

struct s6_app;

/* Registers both routes with the app as their user data; answers 503 while
 * app->treasury is NULL.  Returns 0 or the first s6_http_route error. */
int s6_treasury_routes_register(s6_http_server *srv, struct s6_app *app);
