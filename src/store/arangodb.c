/*
 * arangodb.c — the store over ArangoDB's HTTP API.
 *
 * Calls used (all under /_db/{database}):
 *   POST  /_api/document/{collection}?returnNew=true   insert; 409 with
 *         errorNum 1210 (unique constraint) means the _key exists
 *   GET   /_api/document/{collection}/{key}            read; 404 = none
 *   PATCH /_api/document/{collection}/{key}?returnNew=true with
 *         If-Match: {_rev}                             update what was read;
 *         412 means someone changed it in between
 *   POST  /_api/cursor {query, bindVars, batchSize}    AQL reads
 *   PUT   /_api/cursor/{id}                            the next batch
 * Operations that read, check and write (update a transfer, upsert an
 * order) read first, check like the SQLite backend (the same shared rules),
 * then write with If-Match so a concurrent change is refused, not lost.
 * Upserts of one order are chained: the next starts when the one before
 * it finishes, so an order's statuses land in the order they were asked
 * for (two at once would meet If-Match, and one would be lost).  An upsert
 * ends with a POST of its order_events document (no If-Match: append
 * only); there is no transaction across the two, so a failed POST fails
 * the upsert after the orders document moved, and repeating the upsert
 * writes the event.
 *
 * Longer than 600 lines on purpose: one backend of store.h in one file,
 * in the same sections and order as sqlite.c (snapshots, orders,
 * transfers, open and close) so the two read side by side; a section
 * alone would need the private request struct and its helpers in a
 * header.  What both backends share is in doc.c and store.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/arangodb.h"
#include "store/internal.h"

#define CURSOR_BATCH 1000

static const char *const UNFINISHED[] = { "PENDING", "APPROVED", "SUBMITTED" };

static const char Q_LATEST[] =
    "FOR s IN positions_snapshots FILTER s.pos_id == @pos_id"
    " SORT s.ts_ms DESC, TO_NUMBER(s._key) DESC LIMIT 1 RETURN s";
static const char Q_EVENTS[] =
    "FOR e IN order_events FILTER e.intent_id == @intent_id"
    " SORT TO_NUMBER(e._key) RETURN e";
static const char Q_UNFINISHED[] =
    "FOR t IN treasury_transfers FILTER t.status IN @statuses"
    " SORT t.created_ms, t.transfer_id RETURN t";

typedef struct arq arq;

typedef struct s6_arango {
    s6_store base;
    s6_httpc *http;
    char *prefix;        /* base_url + "/_db/" + database */
    char *auth;          /* "Authorization: ..." or NULL */
    unsigned timeout_ms;
    arq *inflight;       /* operations waiting for a response */
    bool closing;        /* close is failing what is in flight */
} s6_arango;

/* Called with every response (any status); body may be NULL. */
typedef void (*arq_fn)(arq *q, int status, json_t *body);

struct arq {
    s6_arango *a;
    s6_store_call call;
    arq *prev, *next;
    uint64_t http_id;
    const char *op;                  /* for messages */
    arq_fn on_reply;
    /* Reads the document an operation answers with (doc_got/doc_written). */
    void (*answer)(arq *q, const json_t *doc);
    bool existed;                    /* create_transfer: the key was there */
    bool upsert;                     /* an order upsert */
    arq *waiter;                     /* the same order's next upsert */
    char key[S6_STORE_ID_MAX + 1];
    s6_store_order ord;
    s6_store_order stored;           /* upsert: the row, once written */
    s6_store_transfer tr;
    s6_store_transfer_update up;
    char reason[S6_STORE_TEXT_MAX + 1];
    /* A cursor read: rows of `elem` bytes parsed by parse_row, handed to
     * rows_done once the last batch is in. */
    void *rows;
    size_t n, cap, elem;
    int (*parse_row)(const json_t *doc, void *row, s6_store_err *e);
    void (*rows_done)(arq *q);
};

/* ---- completing ----------------------------------------------------- */

static void order_upsert_start(arq *q);

static void finish(arq *q, int rc, const s6_store_err *e,
                   const s6_store_result *res)
{
    s6_arango *a = q->a;
    arq *next = a->closing ? NULL : q->waiter;
    if (q->prev)
        q->prev->next = q->next;
    else if (a->inflight == q)
        a->inflight = q->next;
    if (q->next)
        q->next->prev = q->prev;
    s6_store_finish(q->call, rc, e, res);
    free(q->rows);
    free(q);
    if (next)
        order_upsert_start(next);
}

static void finish_errf(arq *q, int rc, const char *fmt, const char *detail)
{
    s6_store_err e;
    s6_store_errf(&e, rc, fmt, q->op, detail);
    finish(q, rc, &e, NULL);
}

/* An answer the step did not expect: ArangoDB's status and errorNum say
 * which store error it is. */
static const struct { int http; int rc; } STATUS_MAP[] = {
    { 400, S6_EINVAL }, { 404, S6_ENOTFOUND },
    { 409, S6_ECONFLICT }, { 412, S6_ECONFLICT },
    { 503, S6_EBUSY }, { 507, S6_EFULL },
};

static void fail_status(arq *q, int status, const json_t *body)
{
    int rc = S6_EIO;
    for (size_t i = 0; i < sizeof STATUS_MAP / sizeof STATUS_MAP[0]; i++)
        if (STATUS_MAP[i].http == status)
            rc = STATUS_MAP[i].rc;
    long long num = json_integer_value(json_object_get(body, "errorNum"));
    if (num == 1210) /* unique constraint violated */
        rc = S6_ECONSTRAINT;
    const char *msg = json_string_value(json_object_get(body, "errorMessage"));
    s6_store_err e;
    s6_store_errf(&e, rc, "arangodb %s: HTTP %d, errorNum %lld: %s", q->op,
                  status, num, msg ? msg : "(no message)");
    finish(q, rc, &e, NULL);
}

static void fail_corrupt(arq *q, const s6_store_err *e)
{
    s6_store_err out;
    s6_store_errf(&out, S6_ECORRUPT, "arangodb %s: %s", q->op, e->msg);
    finish(q, S6_ECORRUPT, &out, NULL);
}

/* ---- sending -------------------------------------------------------- */

static void on_http(const s6_httpc_result *r, void *ud)
{
    arq *q = ud;
    if (r->err == S6_HTTPC_E_CANCELLED || r->err == S6_HTTPC_E_SHUTDOWN) {
        finish_errf(q, S6_ECLOSED, "arangodb %s: %s", "store closed");
        return;
    }
    if (r->err != S6_HTTPC_OK) {
        char why[200];
        snprintf(why, sizeof why, "%s (%s)", s6_httpc_err_name(r->err),
                 r->err_msg);
        finish_errf(q, S6_EIO, "arangodb %s: %s", why);
        return;
    }
    json_t *body = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL)
                               : NULL;
    q->on_reply(q, r->status, body);
    json_decref(body);
}

/* Keys are validated as printable ASCII without '/'; anything outside
 * RFC 3986's unreserved set is percent-encoded for the path. */
static void encode_key(const char *key, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p && j + 4 < cap;
         p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            out[j++] = (char)*p;
        } else {
            out[j++] = '%';
            out[j++] = hex[*p >> 4];
            out[j++] = hex[*p & 15];
        }
    }
    out[j] = '\0';
}

/* Sends method prefix+path with body (stolen, may be NULL); if_match adds
 * the revision header.  A refused request completes the operation. */
static void send_req(arq *q, const char *method, const char *path,
                     json_t *body, const char *if_match, arq_fn fn)
{
    s6_arango *a = q->a;
    char url[1024], match[128];
    const char *headers[2];
    size_t nh = 0;
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17))
                      : NULL;
    json_decref(body);
    snprintf(url, sizeof url, "%s%s", a->prefix, path);
    if (a->auth)
        headers[nh++] = a->auth;
    if (if_match) {
        snprintf(match, sizeof match, "If-Match: %s", if_match);
        headers[nh++] = match;
    }
    s6_httpc_opts o = { .method = method, .url = url, .headers = headers,
                        .n_headers = nh, .body = text,
                        .body_len = text ? strlen(text) : 0,
                        .timeout_ms = a->timeout_ms };
    q->on_reply = fn;
    int rc = body && !text ? -ENOMEM
                           : s6_httpc_request(a->http, &o, on_http, q,
                                              &q->http_id);
    free(text);
    if (rc < 0)
        finish_errf(q, rc == -ENOMEM ? S6_ENOMEM : S6_EIO,
                    "arangodb %s: request refused (%s)", s6_strerror(rc));
}

static arq *start(s6_store *base, s6_store_call call, const char *op,
                  s6_store_err *err)
{
    s6_arango *a = (s6_arango *)base;
    arq *q = calloc(1, sizeof *q);
    if (!q) {
        s6_store_errf(err, S6_ENOMEM, "arangodb %s: out of memory", op);
        return NULL;
    }
    q->a = a;
    q->call = call;
    q->op = op;
    q->next = a->inflight;
    if (a->inflight)
        a->inflight->prev = q;
    a->inflight = q;
    return q;
}

static void doc_path(char *out, size_t cap, const char *coll, const char *key)
{
    char enc[S6_STORE_ID_MAX * 3 + 1];
    encode_key(key, enc, sizeof enc);
    snprintf(out, cap, "/_api/document/%s/%s", coll, enc);
}

/* Reads one document by key; fn gets the answer (200 or 404 included). */
static void get_doc(arq *q, const char *coll, const char *key, arq_fn fn)
{
    char path[512];
    doc_path(path, sizeof path, coll, key);
    send_req(q, "GET", path, NULL, NULL, fn);
}

static void doc_got(arq *q, int status, json_t *body);

/* Starts an operation whose first step reads a document. */
static int start_get(s6_store *base, s6_store_call call, const char *op,
                     const char *coll, const char *key,
                     void (*answer)(arq *, const json_t *), s6_store_err *err)
{
    arq *q = start(base, call, op, err);
    if (!q)
        return S6_ENOMEM;
    q->answer = answer;
    get_doc(q, coll, key, doc_got);
    return 0;
}

static json_t *with_key(json_t *doc, const char *key)
{
    if (doc)
        json_object_set_new(doc, "_key", json_string(key));
    return doc;
}

/* ---- snapshots ------------------------------------------------------ */

static void snap_appended(arq *q, int status, json_t *body)
{
    if (status != 201 && status != 202)
        fail_status(q, status, body);
    else
        finish(q, 0, NULL, NULL);
}

static int ar_append_snapshot(s6_store *base, const s6_store_snapshot *s,
                              s6_store_call call, s6_store_err *err)
{
    arq *q = start(base, call, "append snapshot", err);
    if (!q)
        return S6_ENOMEM;
    send_req(q, "POST", "/_api/document/positions_snapshots",
         s6_store_snapshot_to_json(s), NULL, snap_appended);
    return 0;
}

static void snap_latest(arq *q, int status, json_t *body)
{
    if (status != 201) {
        fail_status(q, status, body);
        return;
    }
    json_t *doc = json_array_get(json_object_get(body, "result"), 0);
    s6_store_result res = { 0 };
    s6_store_snapshot snap;
    s6_store_err e;
    char *rv = NULL;
    if (doc && s6_store_snapshot_from_json(doc, &snap, &rv, &e)) {
        fail_corrupt(q, &e);
        return;
    }
    res.found = doc != NULL;
    res.snapshot = doc ? &snap : NULL;
    finish(q, 0, NULL, &res);
    free(rv);
}

static json_t *aql(const char *query, json_t *bind_vars)
{
    return json_pack("{s:s, s:o, s:i}", "query", query, "bindVars", bind_vars,
                     "batchSize", CURSOR_BATCH);
}

static int ar_latest_snapshot(s6_store *base, const char *pos_id,
                              s6_store_call call, s6_store_err *err)
{
    arq *q = start(base, call, "latest snapshot", err);
    if (!q)
        return S6_ENOMEM;
    send_req(q, "POST", "/_api/cursor",
         aql(Q_LATEST, json_pack("{s:s}", "pos_id", pos_id)), NULL,
         snap_latest);
    return 0;
}

/* ---- cursors ------------------------------------------------------- */

static int append_batch(arq *q, const json_t *result, s6_store_err *e)
{
    size_t i;
    const json_t *doc;
    json_array_foreach(result, i, doc) {
        if (q->n == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 16;
            void *grown = realloc(q->rows, cap * q->elem);
            if (!grown)
                return s6_store_errf(e, S6_ENOMEM, "out of memory");
            q->rows = grown;
            q->cap = cap;
        }
        int rc = q->parse_row(doc, (char *)q->rows + q->n * q->elem, e);
        if (rc)
            return rc;
        q->n++;
    }
    return 0;
}

/* One batch of a cursor: the next one is asked for while hasMore. */
static void cursor_batch(arq *q, int status, json_t *body)
{
    s6_store_err e;
    if (status != 200 && status != 201) {
        fail_status(q, status, body);
        return;
    }
    json_t *result = json_object_get(body, "result");
    int rc = json_is_array(result)
                 ? append_batch(q, result, &e)
                 : s6_store_errf(&e, S6_ECORRUPT,
                                 "cursor answer without a result array");
    if (rc) {
        fail_corrupt(q, &e);
        return;
    }
    const char *id = json_string_value(json_object_get(body, "id"));
    if (json_is_true(json_object_get(body, "hasMore")) && id) {
        char path[256], enc[200];
        encode_key(id, enc, sizeof enc);
        snprintf(path, sizeof path, "/_api/cursor/%s", enc);
        send_req(q, "PUT", path, NULL, NULL, cursor_batch);
        return;
    }
    q->rows_done(q);
}

/* Starts an AQL read whose rows parse_row reads into elem-sized records. */
static int start_cursor(s6_store *base, s6_store_call call, const char *op,
                        json_t *query, size_t elem,
                        int (*parse_row)(const json_t *, void *,
                                         s6_store_err *),
                        void (*rows_done)(arq *), s6_store_err *err)
{
    arq *q = start(base, call, op, err);
    if (!q) {
        json_decref(query);
        return S6_ENOMEM;
    }
    q->elem = elem;
    q->parse_row = parse_row;
    q->rows_done = rows_done;
    send_req(q, "POST", "/_api/cursor", query, NULL, cursor_batch);
    return 0;
}

/* ---- orders --------------------------------------------------------- */

/* A document read by key: 404 is "not found" (rc 0) except where the
 * document must exist (the existing transfer of an idempotent create). */
static void doc_got(arq *q, int status, json_t *body)
{
    if (status == 404 && !q->existed) {
        s6_store_result res = { 0 };
        finish(q, 0, NULL, &res);
    } else if (status != 200) {
        fail_status(q, status, body);
    } else {
        q->answer(q, body);
    }
}

/* An insert or patch sent with returnNew=true answers with "new". */
static void doc_written(arq *q, int status, json_t *body)
{
    if (status < 200 || status > 202)
        fail_status(q, status, body);
    else
        q->answer(q, json_object_get(body, "new"));
}

static void order_answer(arq *q, const json_t *doc)
{
    s6_store_order o;
    s6_store_err e;
    if (s6_store_order_from_json(doc, &o, &e)) {
        fail_corrupt(q, &e);
        return;
    }
    s6_store_result res = { .found = true, .order = &o };
    finish(q, 0, NULL, &res);
}

static int ar_get_order(s6_store *base, const char *intent_id,
                        s6_store_call call, s6_store_err *err)
{
    return start_get(base, call, "get order", "orders", intent_id,
                     order_answer, err);
}

/* The upsert's second step: insert when absent, else patch what may move
 * (the same fields and rules as the SQLite backend). */
static void order_upsert_read(arq *q, int status, json_t *body)
{
    const s6_store_order *o = &q->ord;
    char path[512];
    if (status == 404) {
        send_req(q, "POST", "/_api/document/orders?returnNew=true",
             with_key(s6_store_order_to_json(o), o->intent_id), NULL,
             doc_written);
        return;
    }
    if (status != 200) {
        fail_status(q, status, body);
        return;
    }
    const char *pos = json_string_value(json_object_get(body, "pos_id"));
    const char *kind = json_string_value(json_object_get(body, "kind"));
    if (!pos || !kind || strcmp(pos, o->pos_id) || strcmp(kind, o->kind)) {
        s6_store_err e;
        s6_store_errf(&e, S6_ECONFLICT,
                      "order %s: stored for pos_id %s kind %s, refused for "
                      "pos_id %s kind %s", o->intent_id, pos ? pos : "?",
                      kind ? kind : "?", o->pos_id, o->kind);
        finish(q, S6_ECONFLICT, &e, NULL);
        return;
    }
    json_t *patch = json_pack("{s:s, s:f, s:f, s:I}", "status", o->status,
                              "price", o->price, "qty", o->qty, "updated_ms",
                              (json_int_t)o->updated_ms);
    if (patch && o->s4_order_id[0])
        json_object_set_new(patch, "s4_order_id", json_string(o->s4_order_id));
    doc_path(path, sizeof path, "orders", o->intent_id);
    strcat(path, "?returnNew=true");
    send_req(q, "PATCH", path, patch,
         json_string_value(json_object_get(body, "_rev")), doc_written);
}

static void event_appended(arq *q, int status, json_t *body)
{
    if (status != 201 && status != 202) {
        fail_status(q, status, body);
        return;
    }
    s6_store_result res = { .found = true, .order = &q->stored };
    finish(q, 0, NULL, &res);
}

/* The row is written: the event follows in the same operation, so the
 * next upsert of this order (chained) starts after it and the events'
 * generated keys grow in the order's own sequence. */
static void order_upserted(arq *q, const json_t *doc)
{
    s6_store_err e;
    if (s6_store_order_from_json(doc, &q->stored, &e)) {
        fail_corrupt(q, &e);
        return;
    }
    s6_store_order_event ev;
    s6_store_order_event_of(&q->ord, &ev);
    q->op = "append order event";
    send_req(q, "POST", "/_api/document/order_events",
             s6_store_order_event_to_json(&ev), NULL, event_appended);
}

static void order_upsert_start(arq *q)
{
    get_doc(q, "orders", q->ord.intent_id, order_upsert_read);
}

static int ar_upsert_order(s6_store *base, const s6_store_order *o,
                           s6_store_call call, s6_store_err *err)
{
    arq *q = start(base, call, "upsert order", err);
    if (!q)
        return S6_ENOMEM;
    q->ord = *o;
    q->answer = order_upserted;
    q->upsert = true;
    /* the last upsert of this order still out: this one follows it */
    for (arq *p = q->next; p; p = p->next)
        if (p->upsert && !p->waiter &&
            strcmp(p->ord.intent_id, o->intent_id) == 0) {
            p->waiter = q;
            return 0;
        }
    order_upsert_start(q);
    return 0;
}

static int parse_event(const json_t *doc, void *row, s6_store_err *e)
{
    return s6_store_order_event_from_json(doc, row, e);
}

static void events_done(arq *q)
{
    s6_store_result res = { .found = q->n > 0, .events = q->rows,
                            .n_events = q->n };
    finish(q, 0, NULL, &res);
}

static int ar_order_events(s6_store *base, const char *intent_id,
                           s6_store_call call, s6_store_err *err)
{
    return start_cursor(base, call, "order events",
                        aql(Q_EVENTS, json_pack("{s:s}", "intent_id",
                                                intent_id)),
                        sizeof(s6_store_order_event), parse_event,
                        events_done, err);
}

/* ---- treasury transfers --------------------------------------------- */

static void transfer_answer(arq *q, const json_t *doc)
{
    s6_store_transfer t;
    s6_store_err e;
    if (s6_store_transfer_from_json(doc, &t, &e)) {
        fail_corrupt(q, &e);
        return;
    }
    s6_store_result res = { .found = true, .existed = q->existed,
                            .transfer = &t };
    finish(q, 0, NULL, &res);
}

static void transfer_created(arq *q, int status, json_t *body)
{
    long long num = json_integer_value(json_object_get(body, "errorNum"));
    if (status == 409 && num == 1210) { /* the key exists: hand it back */
        q->existed = true;
        get_doc(q, "treasury_transfers", q->tr.transfer_id, doc_got);
    } else if (status != 201 && status != 202) {
        fail_status(q, status, body);
    } else {
        transfer_answer(q, json_object_get(body, "new"));
    }
}

static int ar_create_transfer(s6_store *base, const s6_store_transfer *t,
                              s6_store_call call, s6_store_err *err)
{
    arq *q = start(base, call, "create transfer", err);
    if (!q)
        return S6_ENOMEM;
    q->tr = *t;
    q->answer = transfer_answer;
    send_req(q, "POST", "/_api/document/treasury_transfers?returnNew=true",
         with_key(s6_store_transfer_to_json(t), t->transfer_id), NULL,
         transfer_created);
    return 0;
}

static int ar_get_transfer(s6_store *base, const char *id, s6_store_call call,
                           s6_store_err *err)
{
    return start_get(base, call, "get transfer", "treasury_transfers", id,
                     transfer_answer, err);
}

static void transfer_update_read(arq *q, int status, json_t *body)
{
    s6_store_transfer cur;
    s6_store_err e;
    char path[512];
    if (status == 404) {
        s6_store_errf(&e, S6_ENOTFOUND, "transfer %s: not found", q->key);
        finish(q, S6_ENOTFOUND, &e, NULL);
        return;
    }
    if (status != 200) {
        fail_status(q, status, body);
        return;
    }
    if (s6_store_transfer_from_json(body, &cur, &e)) {
        fail_corrupt(q, &e);
        return;
    }
    if (s6_store_check_transition(&cur, &q->up, &e)) {
        finish(q, S6_ECONFLICT, &e, NULL);
        return;
    }
    json_t *patch = json_pack("{s:s, s:i, s:I}", "status",
                              s6_transfer_status_name(q->up.status),
                              "attempts", (int)q->up.attempts, "updated_ms",
                              (json_int_t)q->up.updated_ms);
    if (patch && q->up.reason)
        json_object_set_new(patch, "reason", json_string(q->up.reason));
    doc_path(path, sizeof path, "treasury_transfers", q->key);
    strcat(path, "?returnNew=true");
    send_req(q, "PATCH", path, patch,
         json_string_value(json_object_get(body, "_rev")), doc_written);
}

static int ar_update_transfer(s6_store *base, const char *id,
                              const s6_store_transfer_update *u,
                              s6_store_call call, s6_store_err *err)
{
    arq *q = start(base, call, "update transfer", err);
    if (!q)
        return S6_ENOMEM;
    s6_store_copy(q->key, sizeof q->key, id);
    q->up = *u;
    q->answer = transfer_answer;
    if (u->reason) { /* validated to fit */
        s6_store_copy(q->reason, sizeof q->reason, u->reason);
        q->up.reason = q->reason;
    }
    get_doc(q, "treasury_transfers", id, transfer_update_read);
    return 0;
}

static int parse_transfer(const json_t *doc, void *row, s6_store_err *e)
{
    return s6_store_transfer_from_json(doc, row, e);
}

static void unfinished_done(arq *q)
{
    s6_store_result res = { .found = q->n > 0, .transfers = q->rows,
                            .n_transfers = q->n };
    finish(q, 0, NULL, &res);
}

static int ar_list_unfinished(s6_store *base, s6_store_call call,
                              s6_store_err *err)
{
    json_t *st = json_array();
    for (size_t i = 0; i < sizeof UNFINISHED / sizeof UNFINISHED[0]; i++)
        json_array_append_new(st, json_string(UNFINISHED[i]));
    return start_cursor(base, call, "list unfinished",
                        aql(Q_UNFINISHED, json_pack("{s:o}", "statuses", st)),
                        sizeof(s6_store_transfer), parse_transfer,
                        unfinished_done, err);
}

/* ---- open and close ------------------------------------------------- */

static void ar_close(s6_store *base)
{
    s6_arango *a = (s6_arango *)base;
    a->closing = true; /* a chained upsert is failed here, not started */
    /* httpc runs a cancelled request's callback before returning, which
     * completes the operation with ECLOSED and unlinks it. */
    while (a->inflight) {
        arq *q = a->inflight;
        if (s6_httpc_cancel(a->http, q->http_id) != 0 && a->inflight == q)
            finish_errf(q, S6_ECLOSED, "arangodb %s: %s", "store closed");
    }
    free(a->prefix);
    free(a->auth);
    free(a);
}

static const s6_store_ops ARANGO_OPS = {
    .name = "arangodb",
    .append_snapshot = ar_append_snapshot,
    .latest_snapshot = ar_latest_snapshot,
    .upsert_order = ar_upsert_order,
    .get_order = ar_get_order,
    .order_events = ar_order_events,
    .create_transfer = ar_create_transfer,
    .update_transfer = ar_update_transfer,
    .get_transfer = ar_get_transfer,
    .list_unfinished = ar_list_unfinished,
    .close = ar_close,
};

static char *dup_printf(const char *fmt, const char *a, const char *b)
{
    int n = snprintf(NULL, 0, fmt, a, b);
    char *s = malloc((size_t)n + 1);
    if (s)
        snprintf(s, (size_t)n + 1, fmt, a, b);
    return s;
}

int s6_store_open_arangodb(const s6_store_arango_opts *o, s6_httpc *http,
                           s6_store **out, s6_store_err *err)
{
    if (!out)
        return s6_store_errf(err, S6_EINVAL, "out: NULL");
    *out = NULL;
    if (!o || !http)
        return s6_store_errf(err, S6_EINVAL,
                             "arangodb: options and HTTP client required");
    if (!o->base_url || (strncmp(o->base_url, "http://", 7) &&
                         strncmp(o->base_url, "https://", 8)))
        return s6_store_errf(err, S6_EINVAL,
                             "base_url: must start with http:// or https://");
    size_t len = strlen(o->base_url);
    if (o->base_url[len - 1] == '/')
        return s6_store_errf(err, S6_EINVAL,
                             "base_url: no trailing '/'");
    if (!o->database || !*o->database || strpbrk(o->database, "/?#% "))
        return s6_store_errf(err, S6_EINVAL,
                             "database: missing or not a plain name");
    s6_arango *a = calloc(1, sizeof *a);
    if (a) {
        a->base.ops = &ARANGO_OPS;
        a->http = http;
        a->timeout_ms = o->timeout_ms;
        a->prefix = dup_printf("%s/_db/%s", o->base_url, o->database);
        if (o->authorization)
            a->auth = dup_printf("%s%s", "Authorization: ", o->authorization);
    }
    if (!a || !a->prefix || (o->authorization && !a->auth)) {
        if (a)
            ar_close(&a->base);
        return s6_store_errf(err, S6_ENOMEM, "arangodb: out of memory");
    }
    *out = &a->base;
    return 0;
}
