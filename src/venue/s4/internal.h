/*
 * internal.h — what router.c and venue.c share: the list of requests in
 * flight (so closing the router can cancel every one of them), the
 * request options both build, and the metric names.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "venue/s4/router.h"

/* One outbound request in flight, linked into the router's list. */
typedef struct s6_s4_call {
    struct s6_s4_call *prev, *next;
    uint64_t id;     /* httpc request id */
    uint64_t t0_ns;  /* uv_hrtime() at the send */
} s6_s4_call;

bool s6_s4_router_closing(const s6_s4_router *r);
s6_httpc *s6_s4_router_httpc(const s6_s4_router *r);
s6_log *s6_s4_router_log(const s6_s4_router *r);

/* "<s4_url><path>" into buf; -ENAMETOOLONG when it does not fit. */
int s6_s4_router_url(const s6_s4_router *r, const char *path, char *buf,
                     size_t cap);
/* The retry policy and timeouts of the config into o (o->retry points
 * into r; valid until the next call). */
void s6_s4_router_opts(s6_s4_router *r, const char *intent_id,
                       s6_httpc_opts *o);

/* Links a call sent just now / unlinks it when its callback runs. */
void s6_s4_call_track(s6_s4_router *r, s6_s4_call *c, uint64_t id);
void s6_s4_call_untrack(s6_s4_router *r, s6_s4_call *c);

/* The round trip of a finished call in s6_s4_request_seconds{endpoint};
 * kind non-NULL also counts s6_s4_request_errors_total{endpoint,kind}. */
void s6_s4_call_observe(s6_s4_router *r, const s6_s4_call *c,
                        const char *endpoint, const char *kind);

/* The error kind of a transport failure or an unexpected status. */
const char *s6_s4_error_kind(const s6_httpc_result *res);
