/*
 * peer_server.h — what the S1 and S12 stand-ins (tests/support/s1_peer.h,
 * s12_peer.h) share: an HTTP server on the test's loop, on 127.0.0.1 and a
 * free port, that can hold requests unanswered (a stall) until it closes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "http/http.h"

enum { S6_PEER_SERVER_MAX_STALLED = 16 };

typedef struct s6_peer_route {
    const char *method, *pattern;
    s6_http_handler fn;
} s6_peer_route;

typedef struct s6_peer_server {
    uv_loop_t *loop;
    s6_http_server *srv;
    s6_http_res *stalled[S6_PEER_SERVER_MAX_STALLED];
    size_t n_stalled;
    bool closed;
} s6_peer_server;

/* Routes (ud is every handler's user data) and listens; 0 or -1. */
int s6_peer_server_open(s6_peer_server *ps, uv_loop_t *loop,
                        const s6_peer_route *routes, size_t n, void *ud);
/* Keeps res unanswered; false (the caller answers) when full. */
bool s6_peer_server_stall(s6_peer_server *ps, s6_http_res *res);
/* Answers what is stalled with 503, shuts down and runs the loop until
 * the server has closed. */
void s6_peer_server_close(s6_peer_server *ps);
/* "http://127.0.0.1:<port>" into buf. */
const char *s6_peer_server_url(const s6_peer_server *ps, char *buf,
                               size_t cap);
