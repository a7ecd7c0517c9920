/* calls.c — the requests in flight, their options and their metrics:
 * what the order queue (router.c) and the venue view (venue.c) share. */
#include <errno.h>
#include <stdio.h>

#include "venue/s4/internal.h"

bool s6_s4_router_closing(const s6_s4_router *r) { return r->closing; }
s6_httpc *s6_s4_router_httpc(const s6_s4_router *r) { return r->httpc; }
s6_log *s6_s4_router_log(const s6_s4_router *r) { return r->log; }

int s6_s4_router_url(const s6_s4_router *r, const char *path, char *buf,
                     size_t cap)
{
    int n = snprintf(buf, cap, "%s%s", r->base, path);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

void s6_s4_router_opts(s6_s4_router *r, const char *intent_id,
                       s6_httpc_opts *o)
{
    const s6_config *c = r->cfg;
    unsigned base = c->orders.retry_initial_ms;
    r->retry = (s6_httpc_retry){
        .max_attempts = c->orders.retry_max_attempts + 1,
        .base_ms = base,
        .cap_ms = c->orders.retry_max_ms > base ? c->orders.retry_max_ms : base,
        /* Per intent, so orders that failed together spread apart. */
        .seed = fnv1a(intent_id, r->seed),
    };
    o->timeout_ms = c->services.request_timeout_ms;
    o->connect_timeout_ms = c->services.connect_timeout_ms;
    o->retry = &r->retry;
}

void s6_s4_call_track(s6_s4_router *r, s6_s4_call *c, uint64_t id)
{
    c->id = id;
    c->t0_ns = uv_hrtime();
    c->next = r->calls.next;
    c->prev = &r->calls;
    r->calls.next->prev = c;
    r->calls.next = c;
    r->in_flight++;
}

void s6_s4_call_untrack(s6_s4_router *r, s6_s4_call *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
    r->in_flight--;
}

void s6_s4_call_observe(s6_s4_router *r, const s6_s4_call *c,
                        const char *endpoint, const char *kind)
{
    if (!r->metrics)
        return;
    s6_hist *h;
    s6_hist_get(r->metrics, "s6_s4_request_seconds", 1, S6_LABELS(endpoint),
                &h);
    s6_hist_observe(h, (double)(uv_hrtime() - c->t0_ns) / 1e9);
    if (kind) {
        s6_counter *e;
        s6_counter_get(r->metrics, "s6_s4_request_errors_total", 2,
                       S6_LABELS(endpoint, kind), &e);
        s6_counter_inc(e);
    }
}

