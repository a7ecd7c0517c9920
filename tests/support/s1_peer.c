/* The S1 stand-in (s1_peer.h). */
#include "s1_peer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_server.h"

enum { MAX_DONE = 4096 };

typedef struct s6__done {
    char id[80];
    double amount;
    bool success;       /* executed; else the venue refused it */
} s6__done;

struct s6_s1_peer {
    s6_peer_server ps;
    s6_s1_peer_mode mode;
    unsigned times;     /* requests the mode still applies to; 0 = all */
    size_t calls;
    s6__done done[MAX_DONE];
    size_t n_done;
    char last_body[1024], last_key[128];
};

static s6__done *find(s6_s1_peer *p, const char *id)
{
    for (size_t i = 0; i < p->n_done; i++)
        if (strcmp(p->done[i].id, id) == 0)
            return &p->done[i];
    return NULL;
}

static s6_s1_peer_mode take_mode(s6_s1_peer *p)
{
    s6_s1_peer_mode m = p->mode;
    if (p->times > 0 && --p->times == 0)
        p->mode = S6_S1P_OK;
    return m;
}

static void answer(s6_http_res *res, const s6__done *d)
{
    json_t *doc = d->success
        ? json_pack("{s:s,s:s,s:s}", "transfer_id", d->id, "status",
                    "SUCCESS", "tx_id", "tx-1")
        : json_pack("{s:s,s:s,s:s}", "transfer_id", d->id, "status",
                    "FAILED", "reason", "insufficient spot balance");
    s6_http_res_send_json(res, 200, doc);
}

static s6__done *record(s6_s1_peer *p, const char *id, double amount,
                        bool success)
{
    if (p->n_done >= MAX_DONE)
        return NULL;
    s6__done *d = &p->done[p->n_done++];
    snprintf(d->id, sizeof d->id, "%s", id);
    d->amount = amount;
    d->success = success;
    return d;
}

static void transfer(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_s1_peer *p = ud;
    p->calls++;
    const char *key = s6_http_req_header(req, "Idempotency-Key");
    snprintf(p->last_body, sizeof p->last_body, "%s", req->body);
    snprintf(p->last_key, sizeof p->last_key, "%s", key ? key : "");
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "transfer_id"));
    const char *amt = json_string_value(json_object_get(doc, "amount"));
    double amount = amt ? strtod(amt, NULL) : 0;
    if (id == NULL || key == NULL || strcmp(id, key) != 0 || !(amount > 0)) {
        s6_http_res_error(res, 400, "invalid_request", "transfer_id, "
                          "Idempotency-Key or amount missing or different",
                          NULL);
        json_decref(doc);
        return;
    }
    s6__done *d = find(p, id);
    s6_s1_peer_mode m = take_mode(p);
    if (d == NULL && m == S6_S1P_REJECT)
        s6_http_res_error(res, 400, "invalid_amount", "amount refused", NULL);
    else if (d == NULL && m == S6_S1P_UNAVAILABLE)
        s6_http_res_error(res, 503, "unavailable", "try later", NULL);
    else if (d == NULL &&
             (d = record(p, id, amount, m != S6_S1P_VENUE_FAILED)) == NULL)
        s6_http_res_error(res, 507, "full", "peer record full", NULL);
    else if (m != S6_S1P_STALL || !s6_peer_server_stall(&p->ps, res))
        answer(res, d);
    json_decref(doc);
}

int s6_s1_peer_new(s6_s1_peer **out, uv_loop_t *loop)
{
    static const s6_peer_route routes[] = {
        {"POST", "/xchg/treasury/transfer", transfer}};
    s6_s1_peer *p = calloc(1, sizeof *p);
    if (p == NULL || s6_peer_server_open(&p->ps, loop, routes, 1, p) != 0) {
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

void s6_s1_peer_free(s6_s1_peer *p)
{
    if (p == NULL)
        return;
    s6_peer_server_close(&p->ps);
    free(p);
}

const char *s6_s1_peer_url(const s6_s1_peer *p, char *buf, size_t cap)
{
    return s6_peer_server_url(&p->ps, buf, cap);
}

void s6_s1_peer_set_mode(s6_s1_peer *p, s6_s1_peer_mode mode, unsigned times)
{
    p->mode = mode;
    p->times = times;
}

size_t s6_s1_peer_calls(const s6_s1_peer *p) { return p->calls; }

size_t s6_s1_peer_executed(const s6_s1_peer *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_done; i++)
        n += p->done[i].success;
    return n;
}

double s6_s1_peer_amount(const s6_s1_peer *p, const char *transfer_id)
{
    for (size_t i = 0; i < p->n_done; i++)
        if (p->done[i].success && strcmp(p->done[i].id, transfer_id) == 0)
            return p->done[i].amount;
    return -1;
}

const char *s6_s1_peer_last_body(const s6_s1_peer *p) { return p->last_body; }
const char *s6_s1_peer_last_key(const s6_s1_peer *p) { return p->last_key; }
