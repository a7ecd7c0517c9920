/*
 * status_page.h — the live status page at GET / and the data only it
 * needs at GET /status/history (docs/api.md "The status page").
 */
#pragma once

#include <stddef.h>

#include "http/http.h"

/* The page, Chart.js inlined, embedded at build time (status_page.html). */
extern const unsigned char s6_status_page_html[];
extern const size_t s6_status_page_html_len;

void s6_route_page(s6_http_res *res, const s6_http_req *req, void *ud);
void s6_route_status_history(s6_http_res *res, const s6_http_req *req,
                             void *ud);
