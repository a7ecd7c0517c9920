/*
 * arango_fake.c — see arango_fake.h.  Documents live in jansson objects,
 * one per collection, keyed by _key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arango_fake.h"
#include "http/http.h"

static const char *const COLLECTIONS[] = {
    "positions_snapshots", "orders", "order_events", "treasury_transfers",
    NULL };

/* The only AQL the store sends (src/store/arangodb.c); anything else is a
 * parse error here, as an unexpected query must fail a test. */
static const char Q_LATEST[] =
    "FOR s IN positions_snapshots FILTER s.pos_id == @pos_id"
    " SORT s.ts_ms DESC, TO_NUMBER(s._key) DESC LIMIT 1 RETURN s";
static const char Q_EVENTS[] =
    "FOR e IN order_events FILTER e.intent_id == @intent_id"
    " SORT TO_NUMBER(e._key) RETURN e";
static const char Q_UNFINISHED[] =
    "FOR t IN treasury_transfers FILTER t.status IN @statuses"
    " SORT t.created_ms, t.transfer_id RETURN t";

struct arango_fake {
    uv_loop_t *loop;
    s6_http_server *srv;
    char prefix[128];    /* "/_db/<db>" */
    char auth[256];
    unsigned batch_cap;
    json_t *colls;       /* name -> {key -> doc} */
    json_t *cursors;     /* id -> array of remaining documents */
    unsigned next_key, next_rev, next_cursor;
};

static void send_error(s6_http_res *res, int status, int num, const char *msg)
{
    s6_http_res_send_json(res, status,
                          json_pack("{s:b, s:i, s:i, s:s}", "error", 1, "code",
                                    status, "errorNum", num, "errorMessage",
                                    msg));
}

/* Common checks; returns the collection's object or NULL (answered). */
static json_t *enter(arango_fake *f, s6_http_res *res, const s6_http_req *req,
                     bool needs_coll)
{
    const char *auth = s6_http_req_header(req, "Authorization");
    if (!auth || strcmp(auth, f->auth) != 0) {
        send_error(res, 401, 11, "not authorized to execute this request");
        return NULL;
    }
    if (strncmp(req->path, f->prefix, strlen(f->prefix)) != 0 ||
        req->path[strlen(f->prefix)] != '/') {
        send_error(res, 404, 1228, "database not found");
        return NULL;
    }
    if (!needs_coll)
        return f->colls;
    json_t *c = json_object_get(f->colls, s6_http_req_param(req, "coll"));
    if (!c)
        send_error(res, 404, 1203, "collection or view not found");
    return c;
}

static json_t *parse_body(s6_http_res *res, const s6_http_req *req)
{
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        send_error(res, 400, 600, "VPackError error: body is not an object");
        return NULL;
    }
    return b;
}

static void new_rev(arango_fake *f, json_t *doc, const char *coll)
{
    char rev[32], id[200];
    snprintf(rev, sizeof rev, "_r%u", ++f->next_rev);
    snprintf(id, sizeof id, "%s/%s", coll,
             json_string_value(json_object_get(doc, "_key")));
    json_object_set_new(doc, "_rev", json_string(rev));
    json_object_set_new(doc, "_id", json_string(id));
}

/* Answer of a write: _key, _id, _rev, and "new" when returnNew=true. */
static void send_written(s6_http_res *res, const s6_http_req *req, int status,
                         json_t *doc)
{
    json_t *a = json_pack("{s:O, s:O, s:O}", "_key",
                          json_object_get(doc, "_key"), "_id",
                          json_object_get(doc, "_id"), "_rev",
                          json_object_get(doc, "_rev"));
    if (strstr(req->query, "returnNew=true"))
        json_object_set_new(a, "new", json_deep_copy(doc));
    s6_http_res_send_json(res, status, a);
}

static void on_insert(s6_http_res *res, const s6_http_req *req, void *ud)
{
    arango_fake *f = ud;
    json_t *c = enter(f, res, req, true), *doc;
    if (!c || !(doc = parse_body(res, req)))
        return;
    const char *coll = s6_http_req_param(req, "coll");
    json_t *k = json_object_get(doc, "_key");
    char key[32];
    if (!k) {
        snprintf(key, sizeof key, "%u", ++f->next_key);
        json_object_set_new(doc, "_key", json_string(key));
    } else if (json_object_get(c, json_string_value(k))) {
        json_decref(doc);
        send_error(res, 409, 1210, "unique constraint violated - in index "
                                   "primary of type primary over '_key'");
        return;
    }
    new_rev(f, doc, coll);
    json_object_set(c, json_string_value(json_object_get(doc, "_key")), doc);
    send_written(res, req, 201, doc);
    json_decref(doc);
}

static void on_get(s6_http_res *res, const s6_http_req *req, void *ud)
{
    arango_fake *f = ud;
    json_t *c = enter(f, res, req, true);
    if (!c)
        return;
    json_t *doc = json_object_get(c, s6_http_req_param(req, "key"));
    if (!doc)
        send_error(res, 404, 1202, "document not found");
    else
        s6_http_res_send_json(res, 200, json_deep_copy(doc));
}

static void on_patch(s6_http_res *res, const s6_http_req *req, void *ud)
{
    arango_fake *f = ud;
    json_t *c = enter(f, res, req, true), *patch;
    if (!c)
        return;
    json_t *doc = json_object_get(c, s6_http_req_param(req, "key"));
    if (!doc) {
        send_error(res, 404, 1202, "document not found");
        return;
    }
    const char *match = s6_http_req_header(req, "If-Match");
    if (match && strcmp(match, json_string_value(json_object_get(doc, "_rev")))) {
        send_error(res, 412, 1200, "conflict, _rev values do not match");
        return;
    }
    if (!(patch = parse_body(res, req)))
        return;
    json_object_del(patch, "_key");
    json_object_update(doc, patch);
    json_decref(patch);
    new_rev(f, doc, s6_http_req_param(req, "coll"));
    send_written(res, req, 202, doc);
}

/* Sends up to batch_cap documents of `rest` (stolen), keeping the others
 * under a cursor id. */
static void send_batch(arango_fake *f, s6_http_res *res, int status,
                       json_t *rest, const char *id_in)
{
    json_t *batch = json_array();
    while (json_array_size(rest) && json_array_size(batch) < f->batch_cap) {
        json_array_append(batch, json_array_get(rest, 0));
        json_array_remove(rest, 0);
    }
    json_t *a = json_pack("{s:o, s:b, s:b, s:i}", "result", batch, "hasMore",
                          json_array_size(rest) > 0, "error", 0, "code",
                          status);
    if (json_array_size(rest)) {
        char id[32];
        if (id_in)
            snprintf(id, sizeof id, "%s", id_in);
        else
            snprintf(id, sizeof id, "%u", ++f->next_cursor);
        json_object_set(f->cursors, id, rest);
        json_object_set_new(a, "id", json_string(id));
    } else if (id_in) {
        json_object_del(f->cursors, id_in);
    }
    json_decref(rest);
    s6_http_res_send_json(res, status, a);
}

static int cmp_latest(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t tx = json_integer_value(json_object_get(x, "ts_ms"));
    json_int_t ty = json_integer_value(json_object_get(y, "ts_ms"));
    if (tx != ty)
        return tx < ty ? 1 : -1;
    long kx = atol(json_string_value(json_object_get(x, "_key")));
    long ky = atol(json_string_value(json_object_get(y, "_key")));
    return (kx < ky) - (kx > ky);
}

static int cmp_created(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t cx = json_integer_value(json_object_get(x, "created_ms"));
    json_int_t cy = json_integer_value(json_object_get(y, "created_ms"));
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "transfer_id")),
                  json_string_value(json_object_get(y, "transfer_id")));
}

static int cmp_key(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long kx = atol(json_string_value(json_object_get(x, "_key")));
    long ky = atol(json_string_value(json_object_get(y, "_key")));
    return (kx > ky) - (kx < ky);
}

static bool in_array(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        if (s && json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* The queries this peer knows: the collection, the field filtered on,
 * the bind variable (a string to equal, or an array to be in), the sort
 * and how many rows at most (0: all). */
static const struct known_query {
    const char *text, *coll, *field, *var;
    int (*cmp)(const void *, const void *);
    size_t limit;
} QUERIES[] = {
    { Q_LATEST, "positions_snapshots", "pos_id", "pos_id", cmp_latest, 1 },
    { Q_EVENTS, "order_events", "intent_id", "intent_id", cmp_key, 0 },
    { Q_UNFINISHED, "treasury_transfers", "status", "statuses", cmp_created,
      0 },
};

static const struct known_query *find_query(const char *q)
{
    for (size_t i = 0; q && i < sizeof QUERIES / sizeof QUERIES[0]; i++)
        if (strcmp(q, QUERIES[i].text) == 0)
            return &QUERIES[i];
    return NULL;
}

static bool matches(const json_t *want, const char *v)
{
    return json_is_array(want) ? in_array(want, v)
                               : v && json_is_string(want) &&
                                     strcmp(v, json_string_value(want)) == 0;
}

/* Runs a known query over its collection: filter, sort, limit. */
static json_t *run_query(arango_fake *f, const struct known_query *kq,
                         const json_t *vars)
{
    json_t *c = json_object_get(f->colls, kq->coll);
    const json_t *want = json_object_get(vars, kq->var);
    json_t *rows[4096];
    size_t n = 0;
    const char *k;
    json_t *doc;
    json_object_foreach(c, k, doc) {
        const char *v = json_string_value(json_object_get(doc, kq->field));
        if (n < 4096 && matches(want, v))
            rows[n++] = doc;
    }
    qsort(rows, n, sizeof rows[0], kq->cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n && (!kq->limit || i < kq->limit); i++)
        json_array_append_new(out, json_deep_copy(rows[i]));
    return out;
}

static void on_cursor(s6_http_res *res, const s6_http_req *req, void *ud)
{
    arango_fake *f = ud;
    json_t *body;
    if (!enter(f, res, req, false) || !(body = parse_body(res, req)))
        return;
    const char *q = json_string_value(json_object_get(body, "query"));
    json_t *vars = json_object_get(body, "bindVars");
    const struct known_query *kq = find_query(q);
    if (!kq || !json_is_object(vars))
        send_error(res, 400, 1501, "AQL: syntax error (not a query this "
                                   "peer knows)");
    else
        send_batch(f, res, 201, run_query(f, kq, vars), NULL);
    json_decref(body);
}

static void on_cursor_next(s6_http_res *res, const s6_http_req *req, void *ud)
{
    arango_fake *f = ud;
    if (!enter(f, res, req, false))
        return;
    const char *id = s6_http_req_param(req, "id");
    json_t *rest = json_object_get(f->cursors, id);
    if (!rest)
        send_error(res, 404, 1600, "cursor not found");
    else
        send_batch(f, res, 200, json_incref(rest), id);
}

int arango_fake_new(arango_fake **out, uv_loop_t *loop, const char *db,
                    const char *auth, unsigned batch_cap)
{
    arango_fake *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->loop = loop;
    f->batch_cap = batch_cap ? batch_cap : 1000;
    snprintf(f->prefix, sizeof f->prefix, "/_db/%s", db);
    snprintf(f->auth, sizeof f->auth, "%s", auth);
    f->colls = json_object();
    f->cursors = json_object();
    for (const char *const *c = COLLECTIONS; *c; c++)
        json_object_set_new(f->colls, *c, json_object());
    char doc[160], key[180], cur[160], next[180];
    snprintf(doc, sizeof doc, "%s/_api/document/{coll}", f->prefix);
    snprintf(key, sizeof key, "%s/{key}", doc);
    snprintf(cur, sizeof cur, "%s/_api/cursor", f->prefix);
    snprintf(next, sizeof next, "%s/{id}", cur);
    int rc = s6_http_server_new(&f->srv, loop, NULL, NULL);
    rc = rc ? rc : s6_http_route(f->srv, "POST", doc, on_insert, f);
    rc = rc ? rc : s6_http_route(f->srv, "GET", key, on_get, f);
    rc = rc ? rc : s6_http_route(f->srv, "PATCH", key, on_patch, f);
    rc = rc ? rc : s6_http_route(f->srv, "POST", cur, on_cursor, f);
    rc = rc ? rc : s6_http_route(f->srv, "PUT", next, on_cursor_next, f);
    rc = rc ? rc : s6_http_listen(f->srv, "127.0.0.1", 0);
    if (rc) {
        arango_fake_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

int arango_fake_port(const arango_fake *f) { return s6_http_port(f->srv); }

static void on_closed(s6_http_server *srv, void *ud)
{
    (void)srv;
    *(bool *)ud = true;
}

void arango_fake_free(arango_fake *f)
{
    if (!f)
        return;
    if (f->srv) {
        bool closed = false;
        s6_http_shutdown(f->srv, on_closed, &closed);
        while (!closed)
            uv_run(f->loop, UV_RUN_ONCE);
        s6_http_server_free(f->srv);
    }
    json_decref(f->colls);
    json_decref(f->cursors);
    free(f);
}
