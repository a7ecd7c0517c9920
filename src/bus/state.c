/*
 * The state edge on Redis: a position's save, its events and
 * announcements, the quota reservations and the write barrier.  Saves go
 * out as batches kept until Redis confirmed them (state_retry.c); restore
 * is in state_load.c.
 *
 * About 600 lines on purpose: the edge's five operations share the clock,
 * the log component and the failure accounting kept here; the batches
 * and the load are already apart.
 */
#include "bus/state.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/fields.h"
#include "bus/internal.h"
#include "util/clock.h"
#include "contract/names.h"
#include "redis/cluster.h"

static const char *comp = "state";

/* ---- lifetime and failure accounting ---- */

void s6_state_unref(s6_state *s)
{
    if (--s->refs == 0 && s->closed) {
        s6_state_batches_free(s);
        free(s->unrepl);
        free(s);
    }
}

static bool reply_failed(const redisReply *rep, int code)
{
    if (code != 0 || !rep)
        return true;
    if (rep->type == REDIS_REPLY_ARRAY) /* EXEC: one reply per command */
        for (size_t i = 0; i < rep->elements; i++)
            if (rep->element[i]->type == REDIS_REPLY_ERROR)
                return true;
    return rep->type == REDIS_REPLY_ERROR;
}

/* Counts the reply; false when it failed (and remembers that). */
bool s6_state_account(s6_state *s, const redisReply *rep, int code)
{
    s->replied++;
    if (!reply_failed(rep, code))
        return true;
    s->fail_seq = s->replied;
    s->st.failures++;
    if (!s->closed)
        s6_log_error(s->o.log, comp, "state write failed",
                     S6_LOG_STR("error", code == S6_EREPLY || !code
                                             ? (rep && rep->str ? rep->str
                                                                : "error in EXEC")
                                             : s6_strerror(code)));
    return false;
}

static void on_plain(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_state *s = ud;
    (void)r;
    s6_state_account(s, rep, code);
    s6_state_unref(s);
}

/* Every command of this edge goes through here, in order. */
static int send_at(s6_state *s, int slot, uint32_t extra_ms,
                   s6_redis_reply_cb cb, void *ud, int argc,
                   const char *const *argv, const size_t *len)
{
    if (s->closed)
        return S6_ECLOSED;
    int rc = s6_redis_cmd_at(s->r, slot, extra_ms, cb, ud, argc, argv, len);
    if (rc != 0) {
        s->st.failures++;
        return S6_EREDIS;
    }
    s->seq++;
    s->refs++;
    if (s->o.wait_replicas > 0 && s6_state_wait_note(s, argc, argv, len) != 0)
        s->fail_seq = s->seq + 1; /* unknown slot: the next barrier fails */
    return 0;
}

int s6_state_send_len(s6_state *s, s6_redis_reply_cb cb, void *ud, int argc,
                      const char *const *argv, const size_t *len)
{
    return send_at(s, -1, 0, cb, ud, argc, argv, len);
}

int s6_state_send_at(s6_state *s, int slot, uint32_t extra_ms,
                     s6_redis_reply_cb cb, void *ud, int argc,
                     const char *const *argv)
{
    size_t *len = argc > 0 ? malloc((size_t)argc * sizeof *len) : NULL;
    if (!len)
        return S6_ENOMEM;
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    int rc = send_at(s, slot, extra_ms, cb, ud, argc, argv, len);
    free(len);
    return rc;
}

int s6_state_send(s6_state *s, s6_redis_reply_cb cb, void *ud, int argc,
                  const char *const *argv)
{
    return s6_state_send_at(s, -1, 0, cb, ud, argc, argv);
}

/* A write that is not kept (an event, an announcement): one refused at
 * once counts as the next command's failure, so the next barrier says
 * "not durable".  (Kept writes are sent again instead; a refused reserve,
 * barrier or load is reported to its caller.) */
static int plain(s6_state *s, int argc, const char *const *argv)
{
    int rc = s6_state_send(s, on_plain, s, argc, argv);
    if (rc != 0)
        s->fail_seq = s->seq + 1;
    return rc;
}

/* [A-Za-z0-9_-], 1..max: safe inside a key, as position.h requires. */
bool s6_state_id_ok(const char *id, size_t max)
{
    size_t n = id ? strlen(id) : 0;
    return n > 0 && n <= max &&
           strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789_-") == n;
}

int s6_state_key(char out[KEY_MAX], const char *fmt, const char *id)
{
    int n = snprintf(out, KEY_MAX, fmt, id);
    return n > 0 && n < KEY_MAX ? 0 : S6_ERANGE;
}

/* ---- save ---- */

static int save_levels(st_batch *b, const s6_engine_record *rec)
{
    const s6_stop *st = &rec->stop;
    bool confirmed = st->confirmed.live;
    const s6_stop_order *o = confirmed ? &st->confirmed : &st->pending;
    char key[KEY_MAX], price[S6_BUS_NUM_LEN], step[16], tp[16], adds[16],
        last_add[S6_BUS_NUM_LEN];
    s6_bus_fmt_num(o->live ? o->price : 0, price);
    snprintf(step, sizeof step, "%d", confirmed ? st->step : st->pending_step);
    snprintf(tp, sizeof tp, "%d", rec->tp_step);
    snprintf(adds, sizeof adds, "%d", rec->pos.add_on_count);
    s6_bus_fmt_num(rec->pos.last_add_at, last_add);
    const char *id = rec->pos.id;
    int rc = s6_state_key(key, "pos:{sl}:level:%s", id);
    const char *sl[] = { "HSET", key, "price", price, "step", step,
                         "intent_id", o->live ? o->intent_id : "",
                         "confirmed", confirmed ? "1" : "0" };
    if (rc == 0)
        rc = s6_state_batch_add(b, 10, sl);
    if (rc == 0)
        rc = s6_state_key(key, "pos:{tp}:ladder:%s", id);
    const char *ladder[] = { "HSET", key, "step", tp };
    if (rc == 0)
        rc = s6_state_batch_add(b, 4, ladder);
    if (rc == 0)
        rc = s6_state_key(key, "pos:{adds}:%s", id);
    const char *add[] = { "HSET", key, "count", adds, "last_add_at",
                          last_add };
    if (rc == 0)
        rc = s6_state_batch_add(b, 6, add);
    return rc;
}

/* Replaces the hash whole in one step: no reader sees it half-written. */
static const char rules_lua[] =
    "redis.call('DEL', KEYS[1]) "
    "if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end "
    "return 1";

/* pos:{rules}:<id>: one field per rule, its state as JSON text. */
static int save_rules(st_batch *b, const char *id, const json_t *rules)
{
    char key[KEY_MAX];
    int rc = s6_state_key(key, "pos:{rules}:%s", id);
    size_t n = rules ? json_object_size(rules) : 0;
    if (rc != 0)
        return rc;
    const char **argv = calloc(4 + 2 * n, sizeof *argv);
    char **texts = calloc(n ? n : 1, sizeof *texts);
    int argc = 4;
    const char *name;
    const json_t *v;
    if (!argv || !texts)
        rc = S6_ENOMEM;
    json_object_foreach((json_t *)rules, name, v) {
        if (rc != 0)
            break;
        char **text = &texts[(argc - 4) / 2];
        *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                  JSON_REAL_PRECISION(17));
        if (!*text) {
            rc = S6_ENOMEM;
            break;
        }
        argv[argc] = name;
        argv[argc + 1] = *text;
        argc += 2;
    }
    if (rc == 0) {
        argv[0] = "EVAL";
        argv[1] = rules_lua;
        argv[2] = "1";
        argv[3] = key;
        rc = s6_state_batch_add(b, argc, argv);
    }
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    free(argv);
    return rc;
}

/* The record and the open set share the {state} tag, hence one slot: one
 * script writes both, atomically, on one Redis or on a cluster. */
static const char record_lua[] =
    "redis.call('HSET', KEYS[1], unpack(ARGV, 3)) "
    "if ARGV[1] == '1' then redis.call('SADD', KEYS[2], ARGV[2]) "
    "else redis.call('SREM', KEYS[2], ARGV[2]) end "
    "return 1";

static int save_record(st_batch *b, const s6_engine_record *rec,
                       const char *json)
{
    char key[KEY_MAX];
    const char *id = rec->pos.id;
    char market[8];
    snprintf(market, sizeof market, "%s",
             s6_market_name(rec->pos.market));
    int rc = s6_state_key(key, "pos:{state}:%s", id);
    bool open = rec->pos.state != S6_POS_CLOSED;
    const char *argv[] = { "EVAL", record_lua, "2", key, S6_STATE_OPEN_SET,
                           open ? "1" : "0", id, "record", json, "state",
                           s6_pos_state_name(rec->pos.state), "symbol",
                           rec->pos.symbol, "market", market };
    if (rc == 0)
        rc = s6_state_batch_add(b, 15, argv);
    return rc;
}

static int st_save(void *ud, const s6_engine_record *rec)
{
    s6_state *s = ud;
    if (!rec || !s6_state_id_ok(rec->pos.id, S6_POS_ID_MAX)) {
        s6_log_error(s->o.log, comp, "save refused: bad position id",
                     S6_LOG_STR("pos_id", rec ? rec->pos.id : ""));
        return S6_EINVAL;
    }
    json_t *rules = NULL;
    if (rec->rule_state_json && rec->rule_state_json[0]) {
        rules = json_loads(rec->rule_state_json, 0, NULL);
        if (!json_is_object(rules)) {
            json_decref(rules);
            s6_log_error(s->o.log, comp,
                         "save refused: rule state is not a JSON object",
                         S6_LOG_STR("pos_id", rec->pos.id));
            return S6_EINVAL;
        }
    }
    char *json = s6_engine_record_encode(rec);
    if (!json) {
        json_decref(rules);
        return S6_ENOMEM;
    }
    /* The record first, atomic on its own: it is what a restart reads (and
     * then rewrites the views from), so a crash between the record and
     * the spec's view keys loses nothing.  No transaction spans the keys:
     * they lie in several cluster slots.  Kept until every command was
     * confirmed: the barrier sends the whole save again otherwise. */
    st_batch *b = s6_state_batch_begin(s, 'S', rec->pos.id);
    int rc = b ? save_record(b, rec, json) : S6_ENOMEM;
    if (rc == 0)
        rc = save_levels(b, rec);
    if (rc == 0)
        rc = save_rules(b, rec->pos.id, rules);
    free(json);
    json_decref(rules);
    if (rc != 0) {
        if (b)
            s6_state_batch_drop(s, b);
        return rc;
    }
    s->st.saves++;
    /* Not sent (Redis down): kept; the next barrier says "not durable" and
     * a later one sends it again.  Durability is the barrier's answer. */
    if (s6_state_batch_send(b) != 0)
        s6_log_warn(s->o.log, comp, "save kept for the next barrier",
                    S6_LOG_STR("pos_id", rec->pos.id));
    return 0;
}

/* ---- events and announcements ---- */

static double now_s(const s6_state *s)
{
    if (s->o.clock.now)
        return s->o.clock.now(s->o.clock.ud);
    return s6_clock_wall_s();
}

/* A JSON value as a stream field's text: malloc'd. */
static char *field_text(const json_t *v)
{
    char num[S6_BUS_NUM_LEN];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return strdup(num);
    case JSON_REAL:
        s6_bus_fmt_num(json_real_value(v), num);
        return strdup(num);
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    case JSON_NULL:
        return strdup("");
    default:
        return json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
    }
}

static bool reserved_event_field(const char *k)
{
    return strcmp(k, "type") == 0 || strcmp(k, "pos_id") == 0;
}

static int xadd_event(s6_state *s, const char *key, const char *type,
                      const char *pos_id, const json_t *obj)
{
    size_t n = json_object_size(obj);
    const char **argv = calloc(12 + 2 * n, sizeof *argv);
    char **texts = calloc(n + 1, sizeof *texts);
    char maxlen[16], ts[S6_BUS_NUM_LEN];
    int rc = argv && texts ? 0 : S6_ENOMEM;
    snprintf(maxlen, sizeof maxlen, "%u", s->o.events_maxlen);
    s6_bus_fmt_num(now_s(s), ts);
    int argc = 0, nt = 0;
    if (rc == 0) {
        const char *head[] = { "XADD", key, "MAXLEN", "~", maxlen, "*",
                               "type", type, "pos_id", pos_id ? pos_id : "" };
        memcpy(argv, head, sizeof head);
        argc = 10;
        if (!json_object_get(obj, "ts")) {
            argv[argc++] = "ts";
            argv[argc++] = ts;
        }
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (rc != 0 || reserved_event_field(k))
            continue;
        if (!(texts[nt] = field_text(v))) {
            rc = S6_ENOMEM;
            continue;
        }
        argv[argc++] = k;
        argv[argc++] = texts[nt++];
    }
    if (rc == 0)
        rc = plain(s, argc, argv);
    for (int i = 0; i < nt; i++)
        free(texts[i]);
    free(texts);
    free(argv);
    return rc;
}

static int st_event(void *ud, const char *symbol, const char *pos_id,
                    const char *type, const char *json)
{
    s6_state *s = ud;
    char key[KEY_MAX];
    json_t *obj = json && json[0] ? json_loads(json, 0, NULL) : json_object();
    int rc = 0;
    if (!s6_state_id_ok(symbol, S6_SYMBOL_MAX) || !type || !type[0] ||
        !json_is_object(obj) ||
        (pos_id && pos_id[0] && !s6_state_id_ok(pos_id, S6_POS_ID_MAX)))
        rc = S6_EINVAL;
    if (rc == 0)
        rc = s6_state_key(key, "pos:events:{%s}", symbol);
    if (rc == 0)
        rc = xadd_event(s, key, type, pos_id, obj);
    else
        s6_log_error(s->o.log, comp, "event refused: bad symbol, position, "
                     "type or JSON", S6_LOG_STR("symbol", symbol ? symbol : ""),
                     S6_LOG_STR("type", type ? type : ""));
    json_decref(obj);
    if (rc == 0)
        s->st.events++;
    return rc;
}

static int st_announce(void *ud, const char *stream,
                       const char *const *fields, size_t n)
{
    s6_state *s = ud;
    /* n counts strings: field, value, field, value ... */
    if (!stream || !stream[0] || !fields || n == 0 || n % 2 || n > 64)
        return S6_EINVAL;
    const char *argv[3 + 64] = { "XADD", stream, "*" };
    for (size_t i = 0; i < n; i++) {
        if (!fields[i])
            return S6_EINVAL;
        argv[3 + i] = fields[i];
    }
    int rc = plain(s, (int)(3 + n), argv);
    if (rc == 0)
        s->st.announces++;
    return rc;
}

/* ---- quotas ---- */

/* KEYS: budget, concurrency.  ARGV: quote amount, slots (decimal text, so
 * no digits are lost to Lua's number formatting).  Both or none. */
static const char reserve_lua[] =
    "local b, c = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local bu = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')\n"
    "local bl = tonumber(redis.call('HGET', KEYS[1], 'limit') or '0')\n"
    "local cu = tonumber(redis.call('HGET', KEYS[2], 'used') or '0')\n"
    "local cl = tonumber(redis.call('HGET', KEYS[2], 'limit') or '0')\n"
    "if b > 0 and bu + b > bl + 1e-9 then return 0 end\n"
    "if c > 0 and cu + c > cl then return -1 end\n"
    "if b > 0 then redis.call('HINCRBYFLOAT', KEYS[1], 'used', ARGV[1]) end\n"
    "if c > 0 then redis.call('HINCRBY', KEYS[2], 'used', ARGV[2]) end\n"
    "return 1\n";

/* KEYS: budget, concurrency, the marker.  ARGV: minus the amount, minus
 * the slots, the marker's value.  The marker makes a second call a no-op;
 * `used` never goes below 0 (a release of more than is used is clamped). */
static const char release_lua[] =
    "if not redis.call('SET', KEYS[3], ARGV[3], 'NX') then return 0 end\n"
    "if tonumber(ARGV[1]) < 0 then\n"
    "  local u = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], 'used', ARGV[1]))\n"
    "  if u < 1e-9 then redis.call('HSET', KEYS[1], 'used', '0') end\n"
    "end\n"
    "if tonumber(ARGV[2]) < 0 then\n"
    "  local u = redis.call('HINCRBY', KEYS[2], 'used', ARGV[2])\n"
    "  if u < 0 then redis.call('HSET', KEYS[2], 'used', '0') end\n"
    "end\n"
    "return 1\n";

typedef struct reserve_ctx {
    s6_state *s;
    void (*done)(void *cb_ud, bool ok);
    void *cb_ud;
    char pos_id[S6_POS_ID_MAX + 1];
} reserve_ctx;

static void on_reserved(s6_redis *r, const redisReply *rep, int code,
                        void *ud)
{
    reserve_ctx *x = ud;
    s6_state *s = x->s;
    (void)r;
    bool sent_ok = s6_state_account(s, rep, code);
    bool ok = sent_ok && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    if (sent_ok && !ok) {
        s->st.reserves_refused++;
        s6_log_warn(s->o.log, comp, "quota reservation refused",
                    S6_LOG_STR("pos_id", x->pos_id),
                    S6_LOG_STR("limit", rep->integer == 0 ? "budget"
                                                          : "concurrency"));
    }
    s->st.reserves_ok += ok;
    if (!s->closed)
        x->done(x->cb_ud, ok);
    free(x);
    s6_state_unref(s);
}

static bool quota_args_ok(const char *pos_id, double budget, int concurrency)
{
    return s6_state_id_ok(pos_id, S6_POS_ID_MAX) && budget >= 0 && budget < 1e15 &&
           concurrency >= 0;
}

static int st_reserve(void *ud, const char *pos_id, double budget,
                      int concurrency, void (*done)(void *cb_ud, bool ok),
                      void *cb_ud)
{
    s6_state *s = ud;
    if (!done || !quota_args_ok(pos_id, budget, concurrency))
        return S6_EINVAL;
    reserve_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return S6_ENOMEM;
    *x = (reserve_ctx){ .s = s, .done = done, .cb_ud = cb_ud };
    strcpy(x->pos_id, pos_id);
    char b[S6_BUS_NUM_LEN], c[16];
    s6_bus_fmt_num(budget, b);
    snprintf(c, sizeof c, "%d", concurrency);
    if (s6_redis_is_cluster(s->r)) {
        free(x);
        return s6_state_reserve_split(s, pos_id, b, c, done, cb_ud);
    }
    const char *argv[] = { "EVAL", reserve_lua, "2", S6_QUOTA_BUDGET_KEY,
                           S6_QUOTA_CONCURRENCY_KEY, b, c };
    int rc = s6_state_send(s, on_reserved, x, 7, argv);
    if (rc != 0)
        free(x);
    return rc;
}

static void released(s6_state *s, const redisReply *rep)
{
    if (rep->type != REDIS_REPLY_INTEGER)
        return;
    if (rep->integer == 1)
        s->st.releases_applied++;
    else
        s->st.releases_repeated++;
}

static int st_release(void *ud, const char *pos_id, double budget,
                      int concurrency)
{
    s6_state *s = ud;
    if (!quota_args_ok(pos_id, budget, concurrency))
        return S6_EINVAL;
    char marker[KEY_MAX], b[S6_BUS_NUM_LEN], c[16], when[S6_BUS_NUM_LEN];
    int rc = s6_state_key(marker, S6_QUOTA_BUDGET_KEY ":released:%s", pos_id);
    if (rc != 0)
        return rc;
    s6_bus_fmt_num(-budget, b);
    snprintf(c, sizeof c, "%d", -concurrency);
    s6_bus_fmt_num(now_s(s), when);
    const char *argv[] = { "EVAL", release_lua, "3", S6_QUOTA_BUDGET_KEY,
                           S6_QUOTA_CONCURRENCY_KEY, marker, b, c, when };
    /* Kept until confirmed like a save: the marker makes a resend safe. */
    st_batch *bt = s6_state_batch_begin(s, 'R', pos_id);
    if (!bt)
        rc = S6_ENOMEM;
    else if (s6_redis_is_cluster(s->r))
        rc = s6_state_release_split(s, bt, pos_id, b, c, when);
    else
        rc = s6_state_batch_add(bt, 9, argv);
    if (rc != 0) {
        if (bt)
            s6_state_batch_drop(s, bt);
        return rc;
    }
    s6_state_batch_on_ok(bt, released);
    s6_state_batch_send(bt);
    return 0;
}

/* ---- barrier ---- */

typedef struct barrier_ctx {
    s6_state *s;
    void (*done)(void *cb_ud, bool ok);
    void *cb_ud;
    uint64_t since;       /* the previous barrier's number */
} barrier_ctx;

static void on_barrier(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    barrier_ctx *x = ud;
    s6_state *s = x->s;
    (void)r;
    bool ok = s6_state_account(s, rep, code) && s->fail_seq <= x->since;
    if (!s->closed)
        x->done(x->cb_ud, ok);
    free(x);
    s6_state_unref(s);
}

static int st_barrier(void *ud, void (*done)(void *cb_ud, bool ok),
                      void *cb_ud)
{
    s6_state *s = ud;
    if (!done)
        return S6_EINVAL;
    barrier_ctx *x = malloc(sizeof *x);
    if (!x)
        return S6_ENOMEM;
    *x = (barrier_ctx){ .s = s, .done = done, .cb_ud = cb_ud,
                        .since = s->barrier_seq };
    /* What failed before goes again, inside this barrier's window. */
    s6_state_resend_dirty(s);
    if (s->o.wait_replicas > 0)
        s6_state_wait_send(s);
    const char *argv[] = { "PING" };
    int rc = s6_state_send(s, on_barrier, x, 1, argv);
    if (rc != 0) {
        free(x);
        return rc;
    }
    s->barrier_seq = s->seq;
    return 0;
}

/* ---- life cycle ---- */

int s6_state_new(s6_redis *r, const s6_state_opts *opts, s6_state **out)
{
    if (!r || !out)
        return S6_EINVAL;
    s6_state *s = calloc(1, sizeof *s);
    if (!s)
        return S6_ENOMEM;
    s->r = r;
    if (opts)
        s->o = *opts;
    if (!s->o.events_maxlen)
        s->o.events_maxlen = 100000;
    if (!s->o.wait_timeout_ms)
        s->o.wait_timeout_ms = 1000;
    s->refs = 1; /* the owner's, dropped by s6_state_free */
    *out = s;
    return 0;
}

void s6_state_free(s6_state *s)
{
    if (!s || s->closed)
        return;
    s->closed = true;
    s6_state_unref(s);
}

s6_state_edge s6_state_edge_of(s6_state *s)
{
    return (s6_state_edge){ .save = st_save, .event = st_event,
                            .announce = st_announce,
                            .quota_reserve = st_reserve,
                            .quota_release = st_release,
                            .book_save = s6_state_book_save,
                            .barrier = st_barrier, .ud = s };
}

void s6_state_get_stats(const s6_state *s, s6_state_stats *st)
{
    *st = s->st;
}
