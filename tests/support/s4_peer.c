/* s4_peer.c — the S4 stand-in for tests (s4_peer.h).  It reaches into the
 * server's private header to drop a stalled exchange's connection. */
#define _GNU_SOURCE /* pipe2 */
#include "s4_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bus/result_codec.h"
#include "http/http.h"
#include "http/internal.h"
#include "redis/redis.h"

enum { GET_POSITIONS = 0, GET_OPEN_ORDERS, GET_COUNT };
static const char *const GET_PATHS[GET_COUNT] = { "/positions",
                                                  "/open-orders" };

typedef struct rule_ent {
    char *key;           /* a path or an intent_id */
    s6_s4_peer_rule rule;
    char code[64];
    unsigned left;       /* times still to apply; 0 with times 0 = for good */
} rule_ent;

typedef struct price_ent {
    char symbol[24];
    double price;
} price_ent;

/* The venue's position on one instrument, as the exchange books it: what
 * S6's books must agree with at the end of a fault campaign. */
typedef struct book_ent {
    char symbol[24], market[8];
    double qty;          /* signed: > 0 long, < 0 short */
    double entry;        /* average entry of the open quantity */
    double realized;     /* closed PnL, before fees */
    double fees;
    double margin;       /* isolated margin: entries' and added */
    bool margin_known;   /* the peer knows it (an entry's leverage, set by
                            the test): only then GET /positions shows it */
    unsigned fills;
} book_ent;

/* A margin add taken, by intent: a repeat answers it again. */
typedef struct margin_ent {
    char intent_id[37], symbol[25];
    double amount, margin_after;
} margin_ent;

typedef struct order_ent {
    s6_s4_peer_order o;
    char plan_id[40];
} order_ent;

struct s6_s4_peer {
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    s6_http_server *srv;
    s6_redis *redis;
    char stream[64];
    char redis_url[128];
    int port;
    int start_rc;
    bool started, stopping;
    int notify[2]; /* a byte per change: wakes run_until */

    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cv;
    s6_s4_peer_rec **recs;
    size_t n_recs, cap_recs;
    order_ent *orders;
    size_t n_orders, cap_orders;
    size_t *slots;       /* open addressing: order index + 1, 0 = empty */
    size_t n_slots;      /* a power of two, > 2 * n_orders */
    rule_ent *rules;
    size_t n_rules;
    price_ent *prices;
    size_t n_prices;
    double fee_rate;
    char *serve_body[GET_COUNT];
    int serve_status[GET_COUNT];
    size_t counts[S6_S4P_COUNTER_COUNT];
    s6_http_res **stalls;
    size_t n_stalls, cap_stalls;
    s6_order_result *outbox; /* results to publish from the peer's loop */
    size_t n_outbox, cap_outbox;
    unsigned long next_result;
    bool book_on;        /* s6_s4_peer_venue_book */
    book_ent *book;
    size_t n_book, cap_book;
    char as_of[32];      /* the last ord:{results} entry id published */
    margin_ent *margins;
    size_t n_margins, cap_margins;
    double fut_free;     /* the futures wallet margin adds draw from */
    unsigned publishing; /* XADDs sent, not answered (0 or 1) */
    uv_timer_t republish; /* a failed XADD is tried again */
    s6_http_res *views[16]; /* GETs waiting for the results to be out */
    int view_kind[16];
    size_t n_views;
};

/* ------------------------------------------------------------------ */
/* Small helpers (callers hold mu unless said otherwise)              */

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 16;
    void *nv = realloc(*v, c * size);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = c;
    return 0;
}

static void changed(s6_s4_peer *p)
{
    pthread_cond_broadcast(&p->cv);
    char b = 1;
    ssize_t w = write(p->notify[1], &b, 1); /* full pipe: already awake */
    (void)w;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The slot holding intent, or the empty slot where it would go. */
static size_t *slot_of(s6_s4_peer *p, const char *intent)
{
    size_t mask = p->n_slots - 1;
    for (size_t i = hash(intent) & mask;; i = (i + 1) & mask) {
        size_t *sl = &p->slots[i];
        if (*sl == 0 || strcmp(p->orders[*sl - 1].o.intent_id, intent) == 0)
            return sl;
    }
}

/* An S4 holds many orders: a repeat is found without a scan, so the peer
 * is never what a benchmark measures. */
static order_ent *find_order(s6_s4_peer *p, const char *intent)
{
    if (p->n_slots == 0)
        return NULL;
    size_t *sl = slot_of(p, intent);
    return *sl ? &p->orders[*sl - 1] : NULL;
}

/* Indexes the order just appended at n_orders - 1. */
static int index_order(s6_s4_peer *p)
{
    if (2 * p->n_orders >= p->n_slots) {
        size_t n = p->n_slots ? 2 * p->n_slots : 64;
        size_t *v = calloc(n, sizeof *v);
        if (!v)
            return -ENOMEM;
        free(p->slots);
        p->slots = v;
        p->n_slots = n;
        for (size_t i = 0; i + 1 < p->n_orders; i++)
            *slot_of(p, p->orders[i].o.intent_id) = i + 1;
    }
    *slot_of(p, p->orders[p->n_orders - 1].o.intent_id) = p->n_orders;
    return 0;
}

static rule_ent *find_rule(s6_s4_peer *p, const char *key)
{
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp(p->rules[i].key, key) == 0)
            return &p->rules[i];
    return NULL;
}

static void drop_rule(s6_s4_peer *p, rule_ent *e)
{
    free(e->key);
    *e = p->rules[--p->n_rules];
}

/* The rule that decides this request (the intent's first), used once. */
static s6_s4_peer_rule take_rule(s6_s4_peer *p, const char *intent,
                                 const char *path, char *code, size_t cap)
{
    rule_ent *e = intent ? find_rule(p, intent) : NULL;
    if (!e)
        e = find_rule(p, path);
    if (!e)
        return (s6_s4_peer_rule){ .mode = S6_S4P_ACCEPT };
    s6_s4_peer_rule r = e->rule;
    snprintf(code, cap, "%s", e->code);
    if (e->rule.times > 0 && --e->left == 0)
        drop_rule(p, e);
    return r;
}

static double price_of(s6_s4_peer *p, const char *symbol)
{
    for (size_t i = 0; i < p->n_prices; i++)
        if (strcmp(p->prices[i].symbol, symbol) == 0)
            return p->prices[i].price;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Publishing                                                         */

static const struct {
    const char *purpose;
    int fill_kind;
} FILL_KINDS[] = {
    { "sl", S6_FILL_STOP }, { "tp", S6_FILL_REDUCE }, { "add", S6_FILL_ADD },
    { "cl", S6_FILL_CLOSE }, { "hg", S6_FILL_ENTRY },
};

static int fill_kind_of(const s6_s4_peer_order *o)
{
    for (size_t i = 0; i < sizeof FILL_KINDS / sizeof FILL_KINDS[0]; i++)
        if (strcmp(o->purpose, FILL_KINDS[i].purpose) == 0)
            return strcmp(o->purpose, "hg") == 0 && o->reduce_only
                       ? S6_FILL_REDUCE
                       : FILL_KINDS[i].fill_kind;
    return S6_FILL_MANUAL;
}

/* Queues a result for the loop; price 0 for ACCEPTED and CANCELED, qty 0
 * for the order's own quantity.  The result, or NULL when none is
 * published (no Redis, no memory). */
static s6_order_result *queue_result(s6_s4_peer *p, const s6_s4_peer_order *o,
                                     int kind, int fill_kind, double price,
                                     double qty)
{
    if (!p->redis || grow((void **)&p->outbox, &p->cap_outbox, p->n_outbox,
                          sizeof *p->outbox) < 0)
        return NULL;
    s6_order_result *r = &p->outbox[p->n_outbox++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    snprintf(r->result_id, sizeof r->result_id, "s4p-%d-%lu", p->port,
             ++p->next_result);
    snprintf(r->intent_id, sizeof r->intent_id, "%s", o->intent_id);
    snprintf(r->pos_id, sizeof r->pos_id, "%s", o->pos_id);
    snprintf(r->symbol, sizeof r->symbol, "%s", o->symbol);
    r->market = strcmp(o->market, "SPOT") == 0 ? S6_MARKET_SPOT
                                                : S6_MARKET_FUT;
    r->ts = wall_now();
    r->fill.side = strcmp(o->side, "BUY") == 0 ? 1 : -1;
    if (kind == S6_RES_FILL) {
        if (!(qty > 0))
            qty = strtod(o->quantity, NULL);
        snprintf(r->fill.result_id, sizeof r->fill.result_id, "%s",
                 r->result_id);
        snprintf(r->fill.intent_id, sizeof r->fill.intent_id, "%s",
                 o->intent_id);
        r->fill.kind = fill_kind;
        r->fill.qty = qty;
        r->fill.price = price;
        r->fill.fee = qty * price * p->fee_rate;
        r->fill.ts = r->ts;
    }
    return r;
}

/* ------------------------------------------------------------------ */
/* The venue book                                                     */

static book_ent *book_find(s6_s4_peer *p, const char *symbol,
                           const char *market, bool make)
{
    for (size_t i = 0; i < p->n_book; i++)
        if (strcmp(p->book[i].symbol, symbol) == 0 &&
            strcmp(p->book[i].market, market) == 0)
            return &p->book[i];
    if (!make || grow((void **)&p->book, &p->cap_book, p->n_book,
                      sizeof *p->book) < 0)
        return NULL;
    book_ent *b = &p->book[p->n_book++];
    memset(b, 0, sizeof *b);
    snprintf(b->symbol, sizeof b->symbol, "%s", symbol);
    snprintf(b->market, sizeof b->market, "%s", market);
    return b;
}

/* What a reduce-only order of qty on side can fill: never more than the
 * opposite position, as the exchange clamps it. */
static double book_reducible(s6_s4_peer *p, const s6_s4_peer_order *o,
                             double qty)
{
    book_ent *b = book_find(p, o->symbol, o->market, false);
    int side = strcmp(o->side, "BUY") == 0 ? 1 : -1;
    if (!b || b->qty * side >= 0)
        return 0;
    return qty < fabs(b->qty) ? qty : fabs(b->qty);
}

static void book_fill(s6_s4_peer *p, const char *symbol, const char *market,
                      int side, double qty, double price)
{
    book_ent *b = book_find(p, symbol, market, true);
    if (!b)
        return;
    double q = side * qty;
    b->fills++;
    b->fees += qty * price * p->fee_rate;
    if (b->qty * q >= 0) {
        double held = fabs(b->qty);
        b->entry = (held * b->entry + qty * price) / (held + qty);
        b->qty += q;
        return;
    }
    double closed = qty < fabs(b->qty) ? qty : fabs(b->qty);
    b->realized += closed * (price - b->entry) * (b->qty > 0 ? 1 : -1);
    b->margin *= 1 - closed / fabs(b->qty); /* released in proportion */
    b->qty += side * closed;
    if (fabs(b->qty) < 1e-12) {
        b->qty = 0;
        b->margin = 0;
        b->margin_known = false;
    }
    if (qty > closed) { /* flipped: the rest opens the other way */
        b->qty = side * (qty - closed);
        b->entry = price;
    }
}

/* A fill the peer publishes, booked when the book is on; a reduce-only
 * order is clamped to the position (0: nothing fills). */
static double fill_order(s6_s4_peer *p, const s6_s4_peer_order *o,
                         int fill_kind, double price)
{
    double qty = strtod(o->quantity, NULL);
    if (p->book_on) {
        if (o->reduce_only)
            qty = book_reducible(p, o, qty);
        if (!(qty > 0))
            return 0;
        book_fill(p, o->symbol, o->market, strcmp(o->side, "BUY") == 0 ? 1 : -1,
                  qty, price);
    }
    queue_result(p, o, S6_RES_FILL, fill_kind, price, qty);
    return qty;
}

/* Resting stops on symbol that price has crossed trigger (a sell stop at
 * or below its price, a buy stop at or above); one whose position is gone
 * expires, as a reduce-only order does at the exchange. */
static void trigger_crossed(s6_s4_peer *p, const char *symbol, double price)
{
    for (size_t i = 0; i < p->n_orders; i++) {
        s6_s4_peer_order *o = &p->orders[i].o;
        if (strcmp(o->state, "NEW") != 0 || strcmp(o->symbol, symbol) != 0)
            continue;
        double stop = strtod(o->stop_price, NULL);
        bool sell = strcmp(o->side, "SELL") == 0;
        if (sell ? price > stop : price < stop)
            continue;
        if (fill_order(p, o, S6_FILL_STOP, price) > 0) {
            snprintf(o->state, sizeof o->state, "TRIGGERED");
        } else {
            snprintf(o->state, sizeof o->state, "EXPIRED");
            queue_result(p, o, S6_RES_CANCELED, 0, 0, 0);
        }
    }
}

static void answer_views(s6_s4_peer *p);
static void flush_outbox(s6_s4_peer *p);

/* S4 publishes every result, in order: one XADD at a time, the head of
 * the outbox leaves it only once Redis took it; a failure (Redis down or
 * restarting) is tried again shortly (S6 refuses a copy a lost reply
 * left behind by its result_id). */
static void on_republish(uv_timer_t *t)
{
    flush_outbox(t->data);
}

static void on_xadd(s6_redis *rd, const redisReply *reply, int code,
                    void *ud)
{
    (void)rd;
    s6_s4_peer *p = ud;
    pthread_mutex_lock(&p->mu);
    p->publishing = 0;
    bool ok = code == 0;
    if (ok) {
        p->counts[S6_S4P_PUBLISHED]++;
        if (reply && reply->type == REDIS_REPLY_STRING)
            snprintf(p->as_of, sizeof p->as_of, "%s", reply->str);
        if (p->n_outbox > 0)
            memmove(p->outbox, p->outbox + 1,
                    --p->n_outbox * sizeof *p->outbox);
    } else {
        fprintf(stderr, "s4_peer: XADD failed, tried again: %s\n",
                s6_strerror(code));
    }
    changed(p);
    bool stopping = p->stopping;
    pthread_mutex_unlock(&p->mu);
    if (stopping)
        return;
    if (ok)
        flush_outbox(p);
    else
        uv_timer_start(&p->republish, on_republish, 100, 0);
    answer_views(p);
}

/* On the peer's loop. */
static void flush_outbox(s6_s4_peer *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->publishing == 0 && p->n_outbox > 0 && p->redis && !p->stopping) {
        s6_bus_out o;
        char err[200];
        if (s6_result_format(&p->outbox[0], &o, err, sizeof err) < 0) {
            fprintf(stderr, "s4_peer: result not published: %s\n", err);
            memmove(p->outbox, p->outbox + 1,
                    --p->n_outbox * sizeof *p->outbox);
            continue;
        }
        p->publishing = 1;
        if (s6_redis_xadd(p->redis, p->stream, "*", o.kv, o.n, on_xadd, p) < 0) {
            p->publishing = 0;
            uv_timer_start(&p->republish, on_republish, 100, 0);
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------------ */
/* Requests                                                           */

static char *dupz(const char *s) { return strdup(s ? s : ""); }

static s6_s4_peer_rec *record(s6_s4_peer *p, const s6_http_req *q)
{
    s6_s4_peer_rec *r = calloc(1, sizeof *r);
    if (!r || grow((void **)&p->recs, &p->cap_recs, p->n_recs,
                   sizeof *p->recs) < 0) {
        free(r);
        return NULL;
    }
    r->path = dupz(q->path);
    r->body = dupz(q->body);
    r->idem_key = dupz(s6_http_req_header(q, "Idempotency-Key"));
    r->names = calloc(q->n_headers + 1, sizeof *r->names);
    r->values = calloc(q->n_headers + 1, sizeof *r->values);
    for (size_t i = 0; r->names && r->values && i < q->n_headers; i++) {
        r->names[i] = dupz(q->headers[i].name);
        r->values[i] = dupz(q->headers[i].value);
        r->n_headers = i + 1;
    }
    r->at_ms = uv_now(&p->loop);
    r->at_ns = uv_hrtime();
    p->recs[p->n_recs++] = r;
    return r;
}

/* Copies the string field into out; NULL when missing, empty or long. */
static const char *field(json_t *b, const char *name, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(b, name));
    if (!s || !*s || strlen(s) >= cap)
        return NULL;
    memcpy(out, s, strlen(s) + 1);
    return out;
}

static bool one_of(const char *s, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(s, *names) == 0)
            return true;
    return false;
}

/* S4's validation of an order body: the first bad field, or NULL. */
static const char *parse_order(json_t *b, order_ent *e)
{
    s6_s4_peer_order *o = &e->o;
    static const char *const markets[] = { "FUT", "SPOT", NULL };
    static const char *const sides[] = { "BUY", "SELL", NULL };
    static const char *const types[] = { "MARKET", "STOP_MARKET", NULL };
    static const char *const purposes[] = { "sl", "tp", "add", "cl", "hg",
                                            NULL };
    if (!field(b, "intent_id", o->intent_id, sizeof o->intent_id))
        return "intent_id";
    if (!field(b, "pos_id", o->pos_id, sizeof o->pos_id))
        return "pos_id";
    if (!field(b, "symbol", o->symbol, sizeof o->symbol))
        return "symbol";
    if (!field(b, "market", o->market, sizeof o->market) ||
        !one_of(o->market, markets))
        return "market";
    if (!field(b, "side", o->side, sizeof o->side) || !one_of(o->side, sides))
        return "side";
    if (!field(b, "type", o->type, sizeof o->type) || !one_of(o->type, types))
        return "type";
    if (!field(b, "quantity", o->quantity, sizeof o->quantity) ||
        !(strtod(o->quantity, NULL) > 0))
        return "quantity";
    bool stop = strcmp(o->type, "STOP_MARKET") == 0;
    if (stop && (!field(b, "stop_price", o->stop_price, sizeof o->stop_price) ||
                 !(strtod(o->stop_price, NULL) > 0)))
        return "stop_price";
    const char *wt = json_string_value(json_object_get(b, "working_type"));
    if (stop && (!wt || strcmp(wt, "MARK_PRICE") != 0))
        return "working_type";
    json_t *ro = json_object_get(b, "reduce_only");
    if (!json_is_boolean(ro))
        return "reduce_only";
    o->reduce_only = json_is_true(ro);
    if (!field(b, "purpose", o->purpose, sizeof o->purpose) ||
        !one_of(o->purpose, purposes))
        return "purpose";
    json_t *plan = json_object_get(b, "plan_id");
    if (plan && !json_is_string(plan))
        return "plan_id";
    snprintf(e->plan_id, sizeof e->plan_id, "%s",
             plan ? json_string_value(plan) : "");
    return NULL;
}

typedef struct answer {
    int status;         /* 0: stall */
    char body[512];
} answer;

static void error_answer(answer *a, int status, const char *code,
                         const char *message)
{
    a->status = status;
    json_t *e = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message",
                          message);
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    snprintf(a->body, sizeof a->body, "%s", s ? s : "{}");
    free(s);
    json_decref(e);
}

/* A rule that is not ACCEPT decides the answer here; true when it did. */
static bool apply_rule(const s6_s4_peer_rule *r, const char *code, answer *a)
{
    if (r->mode == S6_S4P_REJECT) {
        error_answer(a, r->status ? r->status : 400, *code ? code : "rejected",
                     "refused by the test");
        return true;
    }
    if (r->mode == S6_S4P_DROP) {
        a->status = -1; /* the connection goes, nothing is done */
        return true;
    }
    if (r->mode == S6_S4P_FAIL) {
        error_answer(a, r->status ? r->status : 503, "unavailable",
                     "failing on purpose");
        return true;
    }
    return false;
}

static void take_order(s6_s4_peer *p, order_ent *in, answer *a)
{
    order_ent *e = find_order(p, in->o.intent_id);
    a->status = 200;
    bool market = strcmp(in->o.type, "MARKET") == 0;
    if (!e && p->book_on && market && in->o.reduce_only &&
        !(book_reducible(p, &in->o, strtod(in->o.quantity, NULL)) > 0)) {
        error_answer(a, 400, "reduce_only_rejected",
                     "reduce-only order and no position to reduce");
        return;
    }
    if (!e) {
        if (grow((void **)&p->orders, &p->cap_orders, p->n_orders,
                 sizeof *p->orders) < 0) {
            error_answer(a, 500, "internal", "out of memory");
            return;
        }
        e = &p->orders[p->n_orders++];
        *e = *in;
        if (index_order(p) < 0) {
            p->n_orders--;
            error_answer(a, 500, "internal", "out of memory");
            return;
        }
        snprintf(e->o.order_id, sizeof e->o.order_id, "s4-%zu", p->n_orders);
        bool stop = strcmp(e->o.type, "STOP_MARKET") == 0;
        snprintf(e->o.state, sizeof e->o.state, "%s", stop ? "NEW" : "FILLED");
        p->counts[S6_S4P_ORDERS]++;
        a->status = 201;
        double px = price_of(p, e->o.symbol);
        if (stop)
            queue_result(p, &e->o, S6_RES_ACCEPTED, 0, 0, 0);
        else if (px > 0)
            fill_order(p, &e->o, fill_kind_of(&e->o), px);
    }
    e->o.requests++;
    snprintf(a->body, sizeof a->body,
             "{\"intent_id\":\"%s\",\"order_id\":\"%s\",\"status\":\"%s\"}",
             e->o.intent_id, e->o.order_id,
             strcmp(e->o.state, "FILLED") == 0 ? "FILLED" : "NEW");
}

static void do_order(s6_s4_peer *p, const s6_http_req *q, answer *a)
{
    order_ent in = { 0 };
    json_t *b = json_loadb(q->body, q->body_len, 0, NULL);
    const char *bad = json_is_object(b) ? parse_order(b, &in) : "body";
    json_decref(b);
    if (bad) {
        error_answer(a, 400, "invalid_field", bad);
        return;
    }
    const char *key = s6_http_req_header(q, "Idempotency-Key");
    if (!key || strcmp(key, in.o.intent_id) != 0) {
        error_answer(a, 400, "idempotency_key_mismatch",
                     "Idempotency-Key must be the intent_id");
        return;
    }
    char code[64] = "";
    s6_s4_peer_rule r = take_rule(p, in.o.intent_id, "/orders", code,
                                  sizeof code);
    if (apply_rule(&r, code, a))
        return;
    take_order(p, &in, a);
    if (r.mode == S6_S4P_STALL)
        a->status = 0; /* taken, the answer is "lost" */
}

static void do_cancel(s6_s4_peer *p, const s6_http_req *q, answer *a)
{
    char intent[37], symbol[25], market[8];
    json_t *b = json_loadb(q->body, q->body_len, 0, NULL);
    const char *bad = !field(b, "intent_id", intent, sizeof intent) ? "intent_id"
                      : !field(b, "symbol", symbol, sizeof symbol) ? "symbol"
                      : !field(b, "market", market, sizeof market) ? "market"
                                                                   : NULL;
    json_decref(b);
    if (bad) {
        error_answer(a, 400, "invalid_field", bad);
        return;
    }
    char code[64] = "";
    s6_s4_peer_rule r = take_rule(p, intent, "/cancel", code, sizeof code);
    if (apply_rule(&r, code, a))
        return;
    order_ent *e = find_order(p, intent);
    if (!e || strcmp(e->o.state, "NEW") != 0 ||
        strcmp(e->o.symbol, symbol) != 0) {
        error_answer(a, 404, "unknown_order", "no resting order");
    } else {
        snprintf(e->o.state, sizeof e->o.state, "CANCELED");
        queue_result(p, &e->o, S6_RES_CANCELED, 0, 0, 0);
        a->status = 200;
        snprintf(a->body, sizeof a->body, "{\"status\":\"CANCELED\"}");
    }
    if (r.mode == S6_S4P_STALL)
        a->status = 0;
}

static margin_ent *find_margin(s6_s4_peer *p, const char *intent)
{
    for (size_t i = 0; i < p->n_margins; i++)
        if (strcmp(p->margins[i].intent_id, intent) == 0)
            return &p->margins[i];
    return NULL;
}

static void margin_answer(answer *a, const margin_ent *m)
{
    snprintf(a->body, sizeof a->body,
             "{\"intent_id\":\"%s\",\"status\":\"OK\",\"amount\":"
             "\"%.2f\",\"margin\":\"%.2f\"}",
             m->intent_id, m->amount, m->margin_after);
}

/* The exchange's add-isolated-margin: from the futures wallet into the
 * position's margin, once per intent_id. */
static void take_margin(s6_s4_peer *p, const char *intent, const char *symbol,
                        double amount, answer *a)
{
    margin_ent *m = find_margin(p, intent);
    if (m) {
        a->status = 200;
        margin_answer(a, m);
        return;
    }
    book_ent *b = book_find(p, symbol, "FUT", !p->book_on);
    if (!b || (p->book_on && b->qty == 0)) {
        error_answer(a, 400, "no_position", "no isolated position to add to");
        return;
    }
    if (amount > p->fut_free) {
        error_answer(a, 400, "insufficient_balance",
                     "the futures wallet cannot cover the margin");
        return;
    }
    if (grow((void **)&p->margins, &p->cap_margins, p->n_margins,
             sizeof *p->margins) < 0) {
        error_answer(a, 500, "internal", "out of memory");
        return;
    }
    p->fut_free -= amount;
    b->margin += amount;
    m = &p->margins[p->n_margins++];
    memset(m, 0, sizeof *m);
    snprintf(m->intent_id, sizeof m->intent_id, "%s", intent);
    snprintf(m->symbol, sizeof m->symbol, "%s", symbol);
    m->amount = amount;
    m->margin_after = b->margin;
    p->counts[S6_S4P_MARGINS]++;
    a->status = 201;
    margin_answer(a, m);
}

static void do_margin(s6_s4_peer *p, const s6_http_req *q, answer *a)
{
    char intent[37], pos_id[25], symbol[25], market[8], type[8], amt[32];
    json_t *b = json_loadb(q->body, q->body_len, 0, NULL);
    const char *bad =
        !field(b, "intent_id", intent, sizeof intent)  ? "intent_id"
        : !field(b, "pos_id", pos_id, sizeof pos_id)   ? "pos_id"
        : !field(b, "symbol", symbol, sizeof symbol)   ? "symbol"
        : !field(b, "market", market, sizeof market) ||
                  strcmp(market, "FUT") != 0           ? "market"
        : !field(b, "type", type, sizeof type) ||
                  strcmp(type, "ADD") != 0             ? "type"
        : !field(b, "amount", amt, sizeof amt) ||
                  !(strtod(amt, NULL) > 0)             ? "amount"
                                                       : NULL;
    json_decref(b);
    if (bad) {
        error_answer(a, 400, "invalid_field", bad);
        return;
    }
    const char *key = s6_http_req_header(q, "Idempotency-Key");
    if (!key || strcmp(key, intent) != 0) {
        error_answer(a, 400, "idempotency_key_mismatch",
                     "Idempotency-Key must be the intent_id");
        return;
    }
    char code[64] = "";
    s6_s4_peer_rule r = take_rule(p, intent, "/positions/margin", code,
                                  sizeof code);
    if (apply_rule(&r, code, a))
        return;
    take_margin(p, intent, symbol, strtod(amt, NULL), a);
    if (r.mode == S6_S4P_STALL)
        a->status = 0;
}

static void send_answer(s6_s4_peer *p, s6_http_res *res, const answer *a)
{
    if (a->status < 0) {
        if (res->conn && res->conn->state != S6__CONN_CLOSED)
            s6__conn_close(res->conn);
        s6_http_res_send(res, 500, NULL, NULL, 0); /* only frees */
        return;
    }
    if (a->status == 0) {
        pthread_mutex_lock(&p->mu);
        if (grow((void **)&p->stalls, &p->cap_stalls, p->n_stalls,
                 sizeof *p->stalls) == 0) {
            p->stalls[p->n_stalls++] = res;
            pthread_mutex_unlock(&p->mu);
            return;
        }
        pthread_mutex_unlock(&p->mu);
    }
    s6_http_res_send(res, a->status ? a->status : 500, "application/json",
                     a->body, strlen(a->body));
}

static void on_post(s6_http_res *res, const s6_http_req *q, void *ud)
{
    s6_s4_peer *p = ud;
    answer a = { .status = 500 };
    pthread_mutex_lock(&p->mu);
    bool order = strcmp(q->path, "/orders") == 0;
    bool margin = strcmp(q->path, "/positions/margin") == 0;
    s6_s4_peer_rec *rec = record(p, q);
    if (order)
        do_order(p, q, &a);
    else if (margin)
        do_margin(p, q, &a);
    else
        do_cancel(p, q, &a);
    if (rec)
        rec->status = a.status;
    p->counts[order    ? S6_S4P_REQUESTS
              : margin ? S6_S4P_MARGIN_REQUESTS
                       : S6_S4P_CANCELS]++;
    changed(p);
    pthread_mutex_unlock(&p->mu);
    flush_outbox(p);
    send_answer(p, res, &a);
}

/* The default open orders: the stops the peer holds. */
static char *resting_stops(s6_s4_peer *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < p->n_orders; i++) {
        const s6_s4_peer_order *o = &p->orders[i].o;
        if (strcmp(o->state, "NEW") != 0)
            continue;
        json_array_append_new(arr, json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "intent_id", o->intent_id,
            "symbol", o->symbol, "market", o->market, "type", o->type, "side",
            o->side, "qty", o->quantity, "stop_price", o->stop_price));
    }
    json_t *doc = json_pack("{s:o}", "orders", arr);
    if (p->book_on)
        json_object_set_new(doc, "as_of", json_string(p->as_of));
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return s;
}

/* A decimal string without a binary-float tail, as S4 prints them. */
static json_t *decimal(double v)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.8f", v);
    char *end = buf + strlen(buf) - 1;
    while (*end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
    return json_string(buf);
}

/* The default positions: none, or the venue book's open ones. */
static char *book_positions(s6_s4_peer *p)
{
    if (!p->book_on)
        return strdup("{\"positions\":[]}");
    json_t *arr = json_array();
    for (size_t i = 0; i < p->n_book; i++) {
        const book_ent *b = &p->book[i];
        if (b->qty == 0)
            continue;
        json_t *pos = json_pack(
            "{s:s, s:s, s:s, s:o, s:o}", "symbol", b->symbol, "market",
            b->market, "side", b->qty > 0 ? "LONG" : "SHORT", "qty",
            decimal(fabs(b->qty)), "entry_price", decimal(b->entry));
        if (b->margin_known && b->margin > 0)
            json_object_set_new(pos, "margin", decimal(b->margin));
        json_array_append_new(arr, pos);
    }
    json_t *doc = json_pack("{s:o, s:s}", "positions", arr, "as_of", p->as_of);
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return s;
}

/* Caller holds mu; the body is sent without it. */
static char *view_body(s6_s4_peer *p, int k, int *status)
{
    *status = p->serve_status[k] ? p->serve_status[k] : 200;
    return p->serve_body[k] ? strdup(p->serve_body[k])
           : k == GET_POSITIONS ? book_positions(p)
                                : resting_stops(p);
}

static void send_view(s6_http_res *res, char *body, int status)
{
    s6_http_res_send(res, body ? status : 500, "application/json",
                     body ? body : "", body ? strlen(body) : 0);
    free(body);
}

/* Results not yet in the stream (none can be, without Redis). */
static bool unpublished(const s6_s4_peer *p)
{
    return p->redis != NULL && (p->publishing > 0 || p->n_outbox > 0);
}

/* A view's as_of covers every change it shows (docs/contracts/s4.md): a
 * GET asked while results are still being published waits for them. */
static void answer_views(s6_s4_peer *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->n_views == 0 || unpublished(p)) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    size_t n = p->n_views;
    s6_http_res *res[16];
    char *body[16];
    int status[16];
    for (size_t i = 0; i < n; i++) {
        res[i] = p->views[i];
        body[i] = view_body(p, p->view_kind[i], &status[i]);
    }
    p->n_views = 0;
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n; i++)
        send_view(res[i], body[i], status[i]);
}

static void on_get(s6_http_res *res, const s6_http_req *q, void *ud)
{
    s6_s4_peer *p = ud;
    int k = strcmp(q->path, GET_PATHS[GET_POSITIONS]) == 0 ? GET_POSITIONS
                                                            : GET_OPEN_ORDERS;
    pthread_mutex_lock(&p->mu);
    if (unpublished(p) && p->n_views < 16) {
        p->view_kind[p->n_views] = k;
        p->views[p->n_views++] = res;
        pthread_mutex_unlock(&p->mu);
        flush_outbox(p);
        answer_views(p); /* nothing could be sent: no wait */
        return;
    }
    int status;
    char *body = view_body(p, k, &status);
    pthread_mutex_unlock(&p->mu);
    send_view(res, body, status);
}

/* ------------------------------------------------------------------ */
/* The thread                                                         */

static void drop_stalls(s6_s4_peer *p)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_stalls; i++) {
        s6_http_res *res = p->stalls[i];
        if (res->conn && res->conn->state != S6__CONN_CLOSED)
            s6__conn_close(res->conn);
        /* Nothing is written on a closed connection; this only frees. */
        s6_http_res_send(res, 500, NULL, NULL, 0);
    }
    p->n_stalls = 0;
    for (size_t i = 0; i < p->n_views; i++) {
        s6_http_res *res = p->views[i];
        if (res->conn && res->conn->state != S6__CONN_CLOSED)
            s6__conn_close(res->conn);
        s6_http_res_send(res, 500, NULL, NULL, 0);
    }
    p->n_views = 0;
    pthread_mutex_unlock(&p->mu);
}

static void on_srv_closed(s6_http_server *srv, void *ud)
{
    (void)srv;
    (void)ud;
}

static void on_wake(uv_async_t *h)
{
    s6_s4_peer *p = h->data;
    if (p->redis)
        flush_outbox(p);
    pthread_mutex_lock(&p->mu);
    bool stop = p->stopping;
    pthread_mutex_unlock(&p->mu);
    if (!stop)
        return;
    drop_stalls(p);
    s6_http_shutdown(p->srv, on_srv_closed, NULL);
    pthread_mutex_lock(&p->mu); /* queue_result reads it on other threads */
    s6_redis *rd = p->redis;
    p->redis = NULL;
    pthread_mutex_unlock(&p->mu);
    if (rd)
        s6_redis_close(rd);
    uv_close((uv_handle_t *)&p->wake, NULL);
    uv_close((uv_handle_t *)&p->republish, NULL);
}

static int setup(s6_s4_peer *p)
{
    int rc = 0;
    if (p->redis_url[0]) { /* first: a server that listened must shut down */
        char err[200];
        rc = s6_redis_open(&p->loop, p->redis_url, NULL, &p->redis, err,
                           sizeof err);
        if (rc < 0)
            fprintf(stderr, "s4_peer: %s\n", err);
    }
    s6_http_limits lim = s6_http_limits_default();
    lim.drain_timeout_ms = 200;
    lim.linger_ms = 200;
    if (rc == 0)
        rc = s6_http_server_new(&p->srv, &p->loop, &lim, NULL);
    static const char *const posts[] = { "/orders", "/cancel",
                                         "/positions/margin" };
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = s6_http_route(p->srv, "POST", posts[i], on_post, p);
    for (int i = 0; rc == 0 && i < GET_COUNT; i++)
        rc = s6_http_route(p->srv, "GET", GET_PATHS[i], on_get, p);
    if (rc == 0)
        rc = s6_http_listen(p->srv, "127.0.0.1", 0);
    if (rc == 0)
        p->port = s6_http_port(p->srv);
    return rc;
}

static void *run(void *arg)
{
    s6_s4_peer *p = arg;
    int rc = setup(p);
    pthread_mutex_lock(&p->mu);
    p->start_rc = rc;
    p->started = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (rc < 0) {
        uv_close((uv_handle_t *)&p->wake, NULL);
        uv_close((uv_handle_t *)&p->republish, NULL);
        if (p->redis)
            s6_redis_close(p->redis);
        p->redis = NULL;
        if (p->srv)
            s6_http_server_free(p->srv);
        p->srv = NULL;
    }
    uv_run(&p->loop, UV_RUN_DEFAULT);
    return NULL;
}

int s6_s4_peer_start(s6_s4_peer **out, const s6_s4_peer_opts *opts)
{
    s6_s4_peer *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    snprintf(p->stream, sizeof p->stream, "%s",
             opts && opts->stream ? opts->stream : S6_RESULTS_STREAM);
    if (opts && opts->redis_url)
        snprintf(p->redis_url, sizeof p->redis_url, "%s", opts->redis_url);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pipe2(p->notify, O_NONBLOCK | O_CLOEXEC) < 0 ||
        uv_loop_init(&p->loop) < 0) {
        free(p);
        return -errno;
    }
    uv_async_init(&p->loop, &p->wake, on_wake);
    p->wake.data = p;
    uv_timer_init(&p->loop, &p->republish);
    p->republish.data = p;
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        uv_close((uv_handle_t *)&p->wake, NULL);
        uv_close((uv_handle_t *)&p->republish, NULL);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        uv_loop_close(&p->loop);
        free(p);
        return -EAGAIN;
    }
    pthread_mutex_lock(&p->mu);
    while (!p->started)
        pthread_cond_wait(&p->cv, &p->mu);
    int rc = p->start_rc;
    pthread_mutex_unlock(&p->mu);
    if (rc < 0) {
        s6_s4_peer_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void rec_free(s6_s4_peer_rec *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->names);
    free(r->values);
    free(r->path);
    free(r->body);
    free(r->idem_key);
    free(r);
}

void s6_s4_peer_free(s6_s4_peer *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_mutex_unlock(&p->mu);
    if (p->start_rc == 0)
        uv_async_send(&p->wake);
    pthread_join(p->thread, NULL);
    if (p->srv)
        s6_http_server_free(p->srv);
    uv_loop_close(&p->loop);
    for (size_t i = 0; i < p->n_recs; i++)
        rec_free(p->recs[i]);
    for (size_t i = 0; i < p->n_rules; i++)
        free(p->rules[i].key);
    for (int k = 0; k < GET_COUNT; k++)
        free(p->serve_body[k]);
    free(p->recs);
    free(p->orders);
    free(p->slots);
    free(p->rules);
    free(p->prices);
    free(p->stalls);
    free(p->outbox);
    free(p->book);
    free(p->margins);
    close(p->notify[0]);
    close(p->notify[1]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ------------------------------------------------------------------ */
/* The test's side                                                    */

int s6_s4_peer_port(const s6_s4_peer *p) { return p->port; }

const char *s6_s4_peer_url(const s6_s4_peer *p, char *buf, size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d", p->port);
    return buf;
}

static int set_rule(s6_s4_peer *p, const char *key,
                    const s6_s4_peer_rule *rule)
{
    if (!key || !*key)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    rule_ent *e = find_rule(p, key);
    int rc = 0;
    if (!rule) {
        if (e)
            drop_rule(p, e);
    } else if (!e && !(p->rules = realloc(p->rules,
                                         (p->n_rules + 1) * sizeof *p->rules))) {
        rc = -ENOMEM;
    } else {
        if (!e) {
            e = &p->rules[p->n_rules++];
            e->key = strdup(key);
        }
        e->rule = *rule;
        snprintf(e->code, sizeof e->code, "%s", rule->code ? rule->code : "");
        e->rule.code = NULL;
        e->left = rule->times;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int s6_s4_peer_rule_path(s6_s4_peer *p, const char *path,
                         const s6_s4_peer_rule *rule)
{
    return set_rule(p, path, rule);
}

int s6_s4_peer_rule_intent(s6_s4_peer *p, const char *intent_id,
                           const s6_s4_peer_rule *rule)
{
    return set_rule(p, intent_id, rule);
}

int s6_s4_peer_serve(s6_s4_peer *p, const char *path, int status,
                     const char *body)
{
    for (int k = 0; k < GET_COUNT; k++) {
        if (strcmp(path, GET_PATHS[k]) != 0)
            continue;
        char *copy = body ? strdup(body) : NULL;
        if (body && !copy)
            return -ENOMEM;
        pthread_mutex_lock(&p->mu);
        free(p->serve_body[k]);
        p->serve_body[k] = copy;
        p->serve_status[k] = body ? status : 0;
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    return -EINVAL;
}

int s6_s4_peer_set_price(s6_s4_peer *p, const char *symbol, double price)
{
    if (!symbol || strlen(symbol) >= sizeof p->prices->symbol || !(price > 0))
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    size_t i = 0;
    while (i < p->n_prices && strcmp(p->prices[i].symbol, symbol) != 0)
        i++;
    if (i == p->n_prices) {
        price_ent *v = realloc(p->prices, (i + 1) * sizeof *v);
        if (v) {
            p->prices = v;
            snprintf(v[i].symbol, sizeof v[i].symbol, "%s", symbol);
            p->n_prices++;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0)
        p->prices[i].price = price;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void s6_s4_peer_set_fee_rate(s6_s4_peer *p, double fee_rate)
{
    pthread_mutex_lock(&p->mu);
    p->fee_rate = fee_rate;
    pthread_mutex_unlock(&p->mu);
}

int s6_s4_peer_trigger_stop(s6_s4_peer *p, const char *intent_id,
                            double price)
{
    pthread_mutex_lock(&p->mu);
    order_ent *e = find_order(p, intent_id);
    int rc = -ENOENT;
    if (e && strcmp(e->o.state, "NEW") == 0 && price > 0) {
        bool filled = fill_order(p, &e->o, S6_FILL_STOP, price) > 0;
        snprintf(e->o.state, sizeof e->o.state, "%s",
                 filled ? "TRIGGERED" : "EXPIRED");
        if (!filled)
            queue_result(p, &e->o, S6_RES_CANCELED, 0, 0, 0);
        changed(p);
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    if (rc == 0)
        uv_async_send(&p->wake);
    return rc;
}

size_t s6_s4_peer_count(s6_s4_peer *p, s6_s4_peer_counter which)
{
    pthread_mutex_lock(&p->mu);
    size_t n = which < S6_S4P_COUNTER_COUNT ? p->counts[which] : 0;
    pthread_mutex_unlock(&p->mu);
    return n;
}

const s6_s4_peer_rec *s6_s4_peer_get(s6_s4_peer *p, size_t i)
{
    pthread_mutex_lock(&p->mu);
    const s6_s4_peer_rec *r = i < p->n_recs ? p->recs[i] : NULL;
    pthread_mutex_unlock(&p->mu);
    return r;
}

const char *s6_s4_peer_rec_header(const s6_s4_peer_rec *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

int s6_s4_peer_find_order(s6_s4_peer *p, const char *intent_id,
                     s6_s4_peer_order *out)
{
    pthread_mutex_lock(&p->mu);
    order_ent *e = find_order(p, intent_id);
    if (e)
        *out = e->o;
    pthread_mutex_unlock(&p->mu);
    return e ? 0 : -ENOENT;
}

int s6_s4_peer_order_at(s6_s4_peer *p, size_t i, s6_s4_peer_order *out)
{
    pthread_mutex_lock(&p->mu);
    bool ok = i < p->n_orders;
    if (ok)
        *out = p->orders[i].o;
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -ENOENT;
}

static struct timespec deadline_in(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int s6_s4_peer_wait(s6_s4_peer *p, s6_s4_peer_counter which, size_t n,
                    unsigned timeout_ms)
{
    if (which >= S6_S4P_COUNTER_COUNT)
        return -EINVAL;
    struct timespec until = deadline_in(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    while (p->counts[which] < n && rc == 0)
        rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
    int ok = p->counts[which] >= n;
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -ETIMEDOUT;
}

typedef struct waiter {
    s6_s4_peer *p;
    s6_s4_peer_counter which;
    size_t n;
    bool done;
    int open;
    uv_poll_t poll;
    uv_timer_t timer;
} waiter;

static void waiter_check(waiter *w)
{
    char buf[64];
    while (read(w->p->notify[0], buf, sizeof buf) > 0) {
    }
    if (s6_s4_peer_count(w->p, w->which) >= w->n)
        w->done = true;
}

static void on_notify(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    waiter_check(h->data);
}

static void on_deadline(uv_timer_t *t) { ((waiter *)t->data)->done = true; }

static void on_waiter_closed(uv_handle_t *h) { ((waiter *)h->data)->open--; }

int s6_s4_peer_run_until(s6_s4_peer *p, uv_loop_t *loop,
                         s6_s4_peer_counter which, size_t n,
                         unsigned timeout_ms)
{
    if (which >= S6_S4P_COUNTER_COUNT)
        return -EINVAL;
    waiter w = { .p = p, .which = which, .n = n, .open = 2 };
    uv_poll_init(loop, &w.poll, p->notify[0]);
    uv_timer_init(loop, &w.timer);
    w.poll.data = w.timer.data = &w;
    uv_poll_start(&w.poll, UV_READABLE, on_notify);
    uv_timer_start(&w.timer, on_deadline, timeout_ms, 0);
    waiter_check(&w);
    while (!w.done)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&w.poll, on_waiter_closed);
    uv_close((uv_handle_t *)&w.timer, on_waiter_closed);
    /* The handles live on this stack frame: let the loop finish closing. */
    while (w.open > 0)
        uv_run(loop, UV_RUN_ONCE);
    return s6_s4_peer_count(p, which) >= n ? 0 : -ETIMEDOUT;
}

/* ------------------------------------------------------------------ */
/* The venue book (the test's side)                                   */

void s6_s4_peer_venue_book(s6_s4_peer *p, bool on)
{
    pthread_mutex_lock(&p->mu);
    p->book_on = on;
    pthread_mutex_unlock(&p->mu);
}

int s6_s4_peer_entry(s6_s4_peer *p, const s6_s4_peer_entry_fill *in)
{
    if (!in || !in->pos_id || !in->symbol || !(in->qty > 0) ||
        !(in->price > 0) || (in->side != 1 && in->side != -1))
        return -EINVAL;
    s6_s4_peer_order o = { .reduce_only = false };
    const char *market = in->market ? in->market : "FUT";
    snprintf(o.intent_id, sizeof o.intent_id, "%s-en-%u", in->pos_id,
             in->seq);
    snprintf(o.pos_id, sizeof o.pos_id, "%s", in->pos_id);
    snprintf(o.symbol, sizeof o.symbol, "%s", in->symbol);
    snprintf(o.market, sizeof o.market, "%s", market);
    snprintf(o.side, sizeof o.side, "%s", in->side > 0 ? "BUY" : "SELL");
    snprintf(o.quantity, sizeof o.quantity, "%.8g", in->qty);
    pthread_mutex_lock(&p->mu);
    if (p->book_on) {
        book_fill(p, o.symbol, o.market, in->side, in->qty, in->price);
        book_ent *b = book_find(p, o.symbol, o.market, false);
        if (b && in->leverage > 0) { /* the isolated wallet, fee paid */
            b->margin += in->qty * in->price / in->leverage -
                         in->qty * in->price * p->fee_rate;
            b->margin_known = true;
        }
    }
    s6_order_result *r = queue_result(p, &o, S6_RES_FILL, S6_FILL_ENTRY,
                                      in->price, in->qty);
    if (r) {
        r->sl_px = in->sl_px;
        r->leverage = in->leverage;
        r->risk_reserved = in->risk_reserved;
        r->concurrency_reserved = in->concurrency_reserved;
    }
    changed(p);
    pthread_mutex_unlock(&p->mu);
    uv_async_send(&p->wake);
    return r ? 0 : -ENOMEM;
}

int s6_s4_peer_move(s6_s4_peer *p, const char *symbol, double price)
{
    int rc = s6_s4_peer_set_price(p, symbol, price);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->mu);
    size_t before = p->n_outbox;
    trigger_crossed(p, symbol, price);
    bool any = p->n_outbox != before;
    if (any)
        changed(p);
    pthread_mutex_unlock(&p->mu);
    if (any)
        uv_async_send(&p->wake);
    return 0;
}

void s6_s4_peer_set_fut_free(s6_s4_peer *p, double amount)
{
    pthread_mutex_lock(&p->mu);
    p->fut_free = amount;
    pthread_mutex_unlock(&p->mu);
}

double s6_s4_peer_fut_free(s6_s4_peer *p)
{
    pthread_mutex_lock(&p->mu);
    double v = p->fut_free;
    pthread_mutex_unlock(&p->mu);
    return v;
}

int s6_s4_peer_set_margin(s6_s4_peer *p, const char *symbol, double margin)
{
    pthread_mutex_lock(&p->mu);
    book_ent *b = book_find(p, symbol, "FUT", true);
    if (b) {
        b->margin = margin;
        b->margin_known = true;
    }
    pthread_mutex_unlock(&p->mu);
    return b ? 0 : -ENOMEM;
}

int s6_s4_peer_book_get(s6_s4_peer *p, const char *symbol, const char *market,
                        s6_s4_peer_book *out)
{
    pthread_mutex_lock(&p->mu);
    book_ent *b = book_find(p, symbol, market ? market : "FUT", false);
    if (b)
        *out = (s6_s4_peer_book){ .qty = b->qty, .entry = b->entry,
                                  .realized = b->realized, .fees = b->fees,
                                  .margin = b->margin, .fills = b->fills };
    pthread_mutex_unlock(&p->mu);
    return b ? 0 : -ENOENT;
}
