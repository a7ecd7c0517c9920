/*
 * Locating a position's shard and holder: HGET of the record's symbol,
 * then GET of the shard's lease key and of its holder key, on one
 * connection (replies in issue order, so the second GET settles it).
 */
#include "bus/shard_holder.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fields.h"
#include "bus/lease.h"
#include "bus/shard.h"

typedef struct locate {
    s6_redis *r;
    uint32_t count;
    s6_shard_located done;
    void *ud;
    bool holder_unsent;  /* on_lease then ends it */
    s6_shard_where w;
} locate;

static void finish(locate *x, int rc)
{
    x->w.rc = rc;
    x->done(x->ud, &x->w);
    free(x);
}

static bool is_string(const redisReply *rep, int code)
{
    return code == 0 && rep && rep->type == REDIS_REPLY_STRING;
}

/* The holder key is trusted only when it names the lease's holder: a
 * lapsed holder's value may outlive its lease by a renewal's ttl. */
static void on_holder(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    locate *x = ud;
    (void)r;
    if (code != 0 && code != S6_EREPLY) {
        finish(x, code);
        return;
    }
    json_t *doc = is_string(rep, code)
                      ? json_loadb(rep->str, rep->len, 0, NULL) : NULL;
    const char *inst = json_string_value(json_object_get(doc, "instance"));
    const char *http = json_string_value(json_object_get(doc, "http"));
    if (x->w.held && inst && http && strcmp(inst, x->w.instance) == 0)
        snprintf(x->w.http, sizeof x->w.http, "%s", http);
    json_decref(doc);
    finish(x, 0);
}

static void on_lease(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    locate *x = ud;
    (void)r;
    if (is_string(rep, code) && rep->len < sizeof x->w.instance) {
        x->w.held = true;
        memcpy(x->w.instance, rep->str, rep->len);
        x->w.instance[rep->len] = '\0';
    }
    if (x->holder_unsent)
        finish(x, S6_EDOWN);
}

static void on_symbol(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    locate *x = ud;
    (void)r;
    if (code != 0 && code != S6_EREPLY) {
        finish(x, code);
        return;
    }
    if (!is_string(rep, code) || rep->len >= sizeof x->w.symbol) {
        finish(x, 0); /* no record: unknown everywhere */
        return;
    }
    x->w.known = true;
    memcpy(x->w.symbol, rep->str, rep->len);
    x->w.symbol[rep->len] = '\0';
    x->w.shard = s6_shard_of(x->w.symbol, x->count);
    char lease[128], holder[144];
    s6_shard_lease_key(x->w.shard, x->count, lease, sizeof lease);
    snprintf(holder, sizeof holder, "%s%s", lease, S6_LEASE_HOLDER_SUFFIX);
    const char *get_lease[] = { "GET", lease };
    const char *get_holder[] = { "GET", holder };
    /* on_lease needs no answer of its own: on_holder comes after it. */
    if (s6_bus_cmd(x->r, 0, on_lease, x, 2, get_lease) != 0)
        finish(x, S6_EDOWN);
    else if (s6_bus_cmd(x->r, 0, on_holder, x, 2, get_holder) != 0)
        x->holder_unsent = true;
}

int s6_shard_locate(s6_redis *r, const char *pos_id, uint32_t count,
                    s6_shard_located done, void *ud)
{
    size_t n = pos_id ? strlen(pos_id) : 0;
    if (!r || !done || count == 0 || n == 0 || n > 24 ||
        strspn(pos_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789_-") != n)
        return S6_EINVAL;
    locate *x = calloc(1, sizeof *x);
    if (!x)
        return S6_ENOMEM;
    *x = (locate){ .r = r, .count = count, .done = done, .ud = ud };
    char key[64];
    snprintf(key, sizeof key, "pos:{state}:%s", pos_id);
    const char *argv[] = { "HGET", key, "symbol" };
    int rc = s6_bus_cmd(r, 0, on_symbol, x, 3, argv);
    if (rc != 0)
        free(x);
    return rc;
}
