/* The S12 stand-in (s12_peer.h). */
#include "s12_peer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_server.h"

enum { MAX_IDS = 4096 };

struct s6_s12_peer {
    s6_peer_server ps;
    s6_s12_peer_mode mode;
    unsigned times;
    char decision[16];
    size_t posts, polls;
    char ids[MAX_IDS][80];
    size_t n_ids;
};

static bool known(const s6_s12_peer *p, const char *id)
{
    for (size_t i = 0; i < p->n_ids; i++)
        if (strcmp(p->ids[i], id) == 0)
            return true;
    return false;
}

static void status(s6_http_res *res, const s6_s12_peer *p, const char *id,
                   int code)
{
    s6_http_res_send_json(res, code,
                          json_pack("{s:s,s:s,s:s}", "transfer_id", id,
                                    "status", p->decision, "reason",
                                    "operator's call"));
}

static void post(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_s12_peer *p = ud;
    p->posts++;
    s6_s12_peer_mode m = p->mode;
    if (p->times > 0 && --p->times == 0)
        p->mode = S6_S12P_OK;
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "transfer_id"));
    const char *key = s6_http_req_header(req, "Idempotency-Key");
    if (id == NULL || key == NULL || strcmp(id, key) != 0 ||
        json_object_get(doc, "amount") == NULL) {
        s6_http_res_error(res, 400, "invalid_request", "transfer_id, "
                          "Idempotency-Key or amount missing", NULL);
    } else if (m == S6_S12P_UNAVAILABLE) {
        s6_http_res_error(res, 503, "unavailable", "try later", NULL);
    } else {
        if (!known(p, id) && p->n_ids < MAX_IDS)
            snprintf(p->ids[p->n_ids++], sizeof p->ids[0], "%s", id);
        if (m != S6_S12P_STALL || !s6_peer_server_stall(&p->ps, res))
            status(res, p, id, 202);
    }
    json_decref(doc);
}

static void get(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_s12_peer *p = ud;
    p->polls++;
    const char *id = s6_http_req_param(req, "id");
    if (id == NULL || !known(p, id))
        s6_http_res_error(res, 404, "unknown_transfer", "no such transfer",
                          NULL);
    else
        status(res, p, id, 200);
}

int s6_s12_peer_new(s6_s12_peer **out, uv_loop_t *loop)
{
    static const s6_peer_route routes[] = {
        {"POST", "/treasury/transfer", post},
        {"GET", "/treasury/transfer/{id}", get}};
    s6_s12_peer *p = calloc(1, sizeof *p);
    if (p == NULL || s6_peer_server_open(&p->ps, loop, routes, 2, p) != 0) {
        free(p);
        return -1;
    }
    snprintf(p->decision, sizeof p->decision, "PENDING");
    *out = p;
    return 0;
}

void s6_s12_peer_free(s6_s12_peer *p)
{
    if (p == NULL)
        return;
    s6_peer_server_close(&p->ps);
    free(p);
}

const char *s6_s12_peer_url(const s6_s12_peer *p, char *buf, size_t cap)
{
    return s6_peer_server_url(&p->ps, buf, cap);
}

void s6_s12_peer_set_mode(s6_s12_peer *p, s6_s12_peer_mode mode, unsigned times)
{
    p->mode = mode;
    p->times = times;
}

void s6_s12_peer_decide(s6_s12_peer *p, const char *st)
{
    snprintf(p->decision, sizeof p->decision, "%s", st);
}

size_t s6_s12_peer_posts(const s6_s12_peer *p) { return p->posts; }
size_t s6_s12_peer_polls(const s6_s12_peer *p) { return p->polls; }
size_t s6_s12_peer_requests(const s6_s12_peer *p) { return p->n_ids; }

const char *s6_s12_peer_last_id(const s6_s12_peer *p)
{
    return p->n_ids > 0 ? p->ids[p->n_ids - 1] : "";
}
