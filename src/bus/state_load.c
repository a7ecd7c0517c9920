/* s6_state_load: the open set, then every position's record and rule-state
 * hash in one pipeline, decoded once every reply is in. */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/internal.h"

typedef struct load_ctx load_ctx;

typedef struct load_item {
    load_ctx *ctx;
    char id[S6_POS_ID_MAX + 1];
    char *record;     /* pos:{state}:<id> record, NULL when absent */
    char *rules;      /* pos:{rules}:<id> as one JSON object, NULL empty */
    bool rules_bad;
    char rules_err[160];
} load_item;

struct load_ctx {
    s6_state *s;
    s6_state_loaded done;
    void *ud;
    load_item *items;
    size_t n, replies_owed;
    bool failed;
    char err[256];
};

static void ctx_free(load_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->items[i].record);
        free(x->items[i].rules);
    }
    free(x->items);
    free(x);
}

void s6_state_free_records(s6_engine_record *recs, size_t n)
{
    for (size_t i = 0; recs && i < n; i++)
        s6_engine_record_release(&recs[i]);
    free(recs);
}

static void finish(load_ctx *x, int rc, s6_engine_record *recs, size_t n)
{
    if (!x->s->closed)
        x->done(x->ud, rc, recs, n, rc ? x->err : NULL);
    else
        s6_state_free_records(recs, n);
    ctx_free(x);
}

/* One record: decoded, with its own rule state (the hash only when the
 * record has none). */
static int decode_item(load_item *it, s6_engine_record *rec, char *err,
                       size_t errlen)
{
    if (!it->record) {
        snprintf(err, errlen, "pos:{state}:%s: in %s but has no record",
                 it->id, S6_STATE_OPEN_SET);
        return S6_EINVAL;
    }
    char *rule_state = NULL, why[200] = "";
    if (s6_engine_record_decode(it->record, rec, &rule_state, why,
                                sizeof why) != 0) {
        free(rule_state);
        snprintf(err, errlen, "pos:{state}:%s record: %s", it->id, why);
        return S6_EINVAL;
    }
    /* The record is authoritative (written first); the rule-state hash is
     * its view, read only for a record that carries no rule state. */
    if (!rule_state && it->rules_bad) {
        s6_engine_record_release(rec);
        snprintf(err, errlen, "pos:{rules}:%s: %s", it->id, it->rules_err);
        return S6_EINVAL;
    }
    if (!rule_state) {
        rule_state = it->rules;
        it->rules = NULL;
    }
    rec->rule_state_json = rule_state;
    return 0;
}

static void decode_all(load_ctx *x)
{
    s6_engine_record *recs = calloc(x->n ? x->n : 1, sizeof *recs);
    if (!recs) {
        snprintf(x->err, sizeof x->err, "out of memory");
        finish(x, S6_ENOMEM, NULL, 0);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (decode_item(&x->items[i], &recs[n], x->err, sizeof x->err)) {
            s6_state_free_records(recs, n);
            finish(x, S6_EINVAL, NULL, 0);
            return;
        }
        const s6_state_opts *o = &x->s->o;
        if (o->owns && !o->owns(o->owns_ud, recs[n].pos.symbol))
            s6_engine_record_release(&recs[n]); /* another shard's */
        else
            n++;
    }
    /* A crash between a record and its views left the views behind: write
     * them again from the record (kept until confirmed, like any save). */
    s6_state_edge e = s6_state_edge_of(x->s);
    for (size_t i = 0; i < n && !x->s->closed; i++)
        (void)e.save(e.ud, &recs[i]);
    finish(x, 0, recs, n);
}

static void reply_in(load_ctx *x)
{
    if (--x->replies_owed > 0)
        return;
    if (x->failed)
        finish(x, S6_EREDIS, NULL, 0);
    else
        decode_all(x);
}

static bool got(load_item *it, const redisReply *rep, int code)
{
    load_ctx *x = it->ctx;
    bool ok = s6_state_account(x->s, rep, code);
    if (!ok && !x->failed) {
        x->failed = true;
        snprintf(x->err, sizeof x->err, "reading position %s: %s", it->id,
                 code ? s6_strerror(code) : rep->str);
    }
    return ok;
}

static void on_record(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    load_item *it = ud;
    load_ctx *x = it->ctx;
    s6_state *s = x->s;
    (void)r;
    if (got(it, rep, code) && rep->type == REDIS_REPLY_STRING) {
        it->record = strndup(rep->str, rep->len);
        if (!it->record)
            x->failed = true;
    }
    reply_in(x);
    s6_state_unref(s);
}

/* The hash's fields back into {"<rule>": <state>, ...}. */
static void rules_from_hash(load_item *it, const redisReply *rep)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i + 1 < rep->elements; i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        json_error_t je;
        json_t *val = json_loadb(v->str, v->len, JSON_DECODE_ANY, &je);
        if (!val) {
            it->rules_bad = true;
            snprintf(it->rules_err, sizeof it->rules_err,
                     "field '%.*s': not JSON (%.60s)", (int)(k->len > 40 ? 40 : k->len), k->str,
                     je.text);
            break;
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)k->len, k->str);
        json_object_set_new(o, name, val);
    }
    if (!it->rules_bad && json_object_size(o) > 0)
        it->rules = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
}

static void on_rules(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    load_item *it = ud;
    load_ctx *x = it->ctx;
    s6_state *s = x->s;
    (void)r;
    if (got(it, rep, code) && rep->type == REDIS_REPLY_ARRAY)
        rules_from_hash(it, rep);
    reply_in(x);
    s6_state_unref(s);
}

static int ask_item(load_ctx *x, load_item *it)
{
    char key[KEY_MAX], rules[KEY_MAX];
    if (s6_state_key(key, "pos:{state}:%s", it->id) ||
        s6_state_key(rules, "pos:{rules}:%s", it->id))
        return S6_ERANGE;
    const char *hget[] = { "HGET", key, "record" };
    const char *hall[] = { "HGETALL", rules };
    if (s6_state_send(x->s, on_record, it, 3, hget) != 0)
        return S6_EREDIS;
    x->replies_owed++;
    if (s6_state_send(x->s, on_rules, it, 2, hall) != 0)
        return S6_EREDIS;
    x->replies_owed++;
    return 0;
}

static int take_ids(load_ctx *x, const redisReply *rep)
{
    x->items = calloc(rep->elements ? rep->elements : 1, sizeof *x->items);
    if (!x->items)
        return S6_ENOMEM;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        load_item *it = &x->items[x->n];
        if (e->type != REDIS_REPLY_STRING || e->len > S6_POS_ID_MAX) {
            snprintf(x->err, sizeof x->err, "%s: member '%.*s' is not a "
                     "position id", S6_STATE_OPEN_SET,
                     (int)(e->len > 40 ? 40 : e->len), e->str ? e->str : "");
            return S6_EINVAL;
        }
        it->ctx = x;
        memcpy(it->id, e->str, e->len);
        x->n++;
    }
    return 0;
}

static void on_members(s6_redis *r, const redisReply *rep, int code,
                       void *ud)
{
    load_ctx *x = ud;
    s6_state *s = x->s;
    (void)r;
    int rc = 0;
    if (!s6_state_account(s, rep, code) || rep->type != REDIS_REPLY_ARRAY) {
        snprintf(x->err, sizeof x->err, "SMEMBERS %s: %s", S6_STATE_OPEN_SET,
                 code ? s6_strerror(code) : "not a set");
        rc = S6_EREDIS;
    }
    if (rc == 0)
        rc = take_ids(x, rep);
    /* Held while asking, so a reply cannot finish the load half-way. */
    x->replies_owed = 1;
    for (size_t i = 0; rc == 0 && i < x->n; i++)
        if ((rc = ask_item(x, &x->items[i])) != 0)
            snprintf(x->err, sizeof x->err, "reading position %s: not sent",
                     x->items[i].id);
    if (rc != 0)
        x->failed = true;
    reply_in(x);
    s6_state_unref(s);
}

int s6_state_load(s6_state *s, s6_state_loaded done, void *ud)
{
    if (!s || !done)
        return S6_EINVAL;
    load_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return S6_ENOMEM;
    *x = (load_ctx){ .s = s, .done = done, .ud = ud };
    const char *argv[] = { "SMEMBERS", S6_STATE_OPEN_SET };
    int rc = s6_state_send(s, on_members, x, 2, argv);
    if (rc != 0)
        free(x);
    return rc;
}
