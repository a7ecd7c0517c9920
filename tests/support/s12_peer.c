/* The S12 stand-in (s12_peer.h). */
#include "s12_peer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

enum { MAX_IDS = 64, MAX_STALLED = 16 };

struct s6_s12_peer {
    uv_loop_t *loop;
    s6_http_server *srv;
    s6_s12_peer_mode mode;
    unsigned times;
    char decision[16];
    size_t posts, polls;
    char ids[MAX_IDS][80];
    size_t n_ids;
    s6_http_res *stalled[MAX_STALLED];
    size_t n_stalled;
    bool closed;
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
        if (m == S6_S12P_STALL && p->n_stalled < MAX_STALLED)
            p->stalled[p->n_stalled++] = res;
        else
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
    s6_s12_peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    p->loop = loop;
    snprintf(p->decision, sizeof p->decision, "PENDING");
    if (s6_http_server_new(&p->srv, loop, NULL, NULL) != 0 ||
        s6_http_route(p->srv, "POST", "/treasury/transfer", post, p) != 0 ||
        s6_http_route(p->srv, "GET", "/treasury/transfer/{id}", get, p) != 0 ||
        s6_http_listen(p->srv, "127.0.0.1", 0) != 0) {
        if (p->srv)
            s6_http_server_free(p->srv);
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

static void closed(s6_http_server *srv, void *ud)
{
    (void)srv;
    ((s6_s12_peer *)ud)->closed = true;
}

void s6_s12_peer_free(s6_s12_peer *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_stalled; i++)
        s6_http_res_error(p->stalled[i], 503, "unavailable", "shutting down",
                          NULL);
    s6_http_shutdown(p->srv, closed, p);
    while (!p->closed)
        uv_run(p->loop, UV_RUN_ONCE);
    s6_http_server_free(p->srv);
    free(p);
}

const char *s6_s12_peer_url(const s6_s12_peer *p, char *buf, size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d", s6_http_port(p->srv));
    return buf;
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
