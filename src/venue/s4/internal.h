/*
 * internal.h — what the files of the S4 router share: its state (router.c
 * owns the queue and the rate buckets), the list of requests in flight (so
 * closing the router can cancel every one of them) and the request options
 * the orders (router.c) and the venue view (venue.c) both build (calls.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/str_index.h"
#include "venue/s4/rate.h"
#include "venue/s4/router.h"
#include "venue/s4/wire.h"

/* One outbound request in flight, linked into the router's list. */
typedef struct s6_s4_call {
    struct s6_s4_call *prev, *next;
    uint64_t id;     /* httpc request id */
    uint64_t t0_ns;  /* uv_hrtime() at the send */
} s6_s4_call;

/* router.c's queued orders and cancels. */
typedef struct s6_s4_job_list {
    struct s6_s4_job *head, *tail;
    size_t n;
    bool indexed;     /* counts its orders by intent in `orders` */
    bool lost;        /* a count could not be stored: walk the list */
    s6_index orders;   /* intent_id -> orders of that intent in the list */
} s6_s4_job_list;

struct s6_s4_router {
    uv_loop_t *loop;
    s6_httpc *httpc;
    const s6_config *cfg;
    s6_log *log;
    s6_metrics *metrics;
    char base[1024];
    uv_timer_t rate_timer; /* fires when tokens allow the queue's head */
    uv_timer_t defer_timer; /* delivers outcomes decided inside a call */
    uv_timer_t withdraw_timer; /* stops the retries of withdrawn orders */
    int open_handles;
    bool closing;
    s6_rate total;
    struct s6_s4_sym_rate *syms;
    size_t n_syms, cap_syms;
    s6_index sym_ix;   /* "<market>:<symbol>" -> index into syms */
    s6_s4_job_list queue, deferred;
    s6_s4_job_list sending;  /* sent, waiting for the answer */
    s6_s4_call calls; /* sentinel of the in-flight list */
    size_t in_flight;
    s6_httpc_retry retry;
    uint64_t seed;
    double (*clock)(void *ud); /* NULL: the loop's time */
    void *clock_ud;
    s6_gauge *queued; /* s6_s4_queued_orders */
    s6_s4_router_stats stats;
};

/* calls.c: what router.c and venue.c both need of the router. */
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
