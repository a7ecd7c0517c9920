/*
 * fixture.c — the service end to end (fixture.h).
 */
#include "fixture.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *load_base_config(void)
{
    const char *src = getenv("S6_SOURCE_DIR");
    assert_non_null(src);
    char path[512];
    snprintf(path, sizeof path, "%s/config/s6.json", src);
    json_error_t je;
    json_t *cfg = json_load_file(path, 0, &je);
    if (cfg == NULL)
        fail_msg("%s:%d: %s", path, je.line, je.text);
    return cfg;
}

static void set_path(json_t *cfg, const char *section, const char *key,
                     json_t *value)
{
    json_t *sec = json_object_get(cfg, section);
    if (sec == NULL) {
        sec = json_object();
        json_object_set_new(cfg, section, sec);
    }
    json_object_set_new(sec, key, value);
}

static void setup_with(svc_fx *f, void (*edit)(json_t *cfg));

static void svc_fx_setup_redis(svc_fx *f, void (*edit)(json_t *cfg))
{
    assert_int_equal(s6test_redis_start(&f->redis), 0);
    f->rc = redisConnect("127.0.0.1", f->redis.port);
    assert_true(f->rc != NULL && f->rc->err == 0);
    setup_with(f, edit);
}

void svc_fx_setup(svc_fx *f, void (*edit)(json_t *cfg))
{
    memset(f, 0, sizeof *f);
    svc_fx_setup_redis(f, edit);
}

void svc_fx_setup_aof(svc_fx *f, void (*edit)(json_t *cfg))
{
    memset(f, 0, sizeof *f);
    f->redis.aof = 1;
    svc_fx_setup_redis(f, edit);
}

static void setup_with(svc_fx *f, void (*edit)(json_t *cfg))
{
    s6_s4_peer_opts po = { .redis_url = f->redis.url };
    assert_int_equal(s6_s4_peer_start(&f->peer, &po), 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/s6-svc-test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->cfg_path, sizeof f->cfg_path, "%s/s6.json", f->dir);

    json_t *cfg = load_base_config();
    char s4[128], hist[160];
    s6_s4_peer_url(f->peer, s4, sizeof s4);
    snprintf(hist, sizeof hist, "%s/history.sqlite", f->dir);
    set_path(cfg, "redis", "url", json_string(f->redis.url));
    set_path(cfg, "services", "s4_url", json_string(s4));
    set_path(cfg, "s4", "mode", json_string("http"));
    set_path(cfg, "history", "path", json_string(hist));
    set_path(cfg, "paper", "positions", json_string(""));
    if (edit != NULL)
        edit(cfg);
    assert_int_equal(json_dump_file(cfg, f->cfg_path, JSON_INDENT(2)), 0);
    json_decref(cfg);
    f->port = free_port();
}

void svc_fx_setup_cluster(svc_fx *f, s6test_cluster *c,
                          void (*edit)(json_t *cfg))
{
    memset(f, 0, sizeof *f);
    f->cluster = c;
    snprintf(f->redis.url, sizeof f->redis.url, "%s", c->url);
    setup_with(f, edit);
}

void svc_start(svc_fx *f)
{
    char port[16], cfg[200];
    snprintf(port, sizeof port, "PORT=%d", f->port);
    snprintf(cfg, sizeof cfg, "S6_CONFIG=%s", f->cfg_path);
    /* One instance id across restarts: the restarted process is the same
     * consumer of ord:{results} and finds its own pending entries. */
    const char *env[] = { port, cfg, "S6_INSTANCE_ID=s6-test-1",
                          "S6_LOG_LEVEL=info", NULL };
    spawn(&f->p, env, NULL);
    f->running = true;
    f->starts++;
    json_decref(svc_await_log(f, "start-up done: managing positions"));
}

void svc_kill(svc_fx *f)
{
    assert_true(f->running);
    kill(f->p.pid, SIGKILL);
    int st = await_exit(&f->p);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    proc_free(&f->p);
    f->running = false;
}

void svc_stop(svc_fx *f)
{
    assert_true(f->running);
    kill(f->p.pid, SIGTERM);
    int st = await_exit(&f->p);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        svc_print_log(f);
        fail_msg("s6-position did not stop cleanly (status %d)", st);
    }
    proc_free(&f->p);
    f->running = false;
}

void svc_fx_teardown(svc_fx *f)
{
    if (f->running) {
        kill(f->p.pid, SIGKILL);
        await_exit(&f->p);
        proc_free(&f->p);
    }
    if (f->rc != NULL)
        redisFree(f->rc);
    s6_s4_peer_free(f->peer);
    s6test_redis_destroy(&f->redis);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
}

redisReply *svc_redis(svc_fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = f->cluster ? s6test_cluster_vcommand(f->cluster, fmt, ap)
                               : redisvCommand(f->rc, fmt, ap);
    va_end(ap);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r ? r->str : f->cluster ? "no node answered"
                                                      : f->rc->errstr);
    return r;
}

void svc_entry_fill(svc_fx *f, const char *result_id, const char *pos_id,
                    const char *symbol, const char *side, const char *qty,
                    const char *price, const char *sl_px)
{
    char ts[32], fee[32];
    snprintf(ts, sizeof ts, "%.3f", wall());
    snprintf(fee, sizeof fee, "%.6f", atof(qty) * atof(price) * 0.0005);
    freeReplyObject(svc_redis(
        f, "XADD ord:{results} * result_id %s kind FILL intent_id %s-en "
           "pos_id %s symbol %s market FUT side %s fill_kind ENTRY qty %s "
           "price %s fee %s fee_asset QUOTE sl_px %s leverage 10 "
           "risk_reserved 60 concurrency_reserved 1 ts %s",
        result_id, pos_id, pos_id, symbol, side, qty, price, fee, sl_px,
        ts));
}

void svc_mark(svc_fx *f, const char *symbol, double mark)
{
    char m[32], ts[32];
    snprintf(m, sizeof m, "%.1f", mark);
    snprintf(ts, sizeof ts, "%.3f", wall());
    freeReplyObject(svc_redis(f, "HSET md:last:FUT:%s symbol %s market FUT "
                                 "mark %s ts %s",
                              symbol, symbol, m, ts));
    freeReplyObject(svc_redis(f, "XADD md:prices * symbol %s market FUT "
                                 "mark %s ts %s",
                              symbol, m, ts));
}

int svc_count_events(svc_fx *f, const char *symbol, const char *pos_id,
                     const char *type)
{
    redisReply *r = svc_redis(f, "XRANGE pos:events:{%s} - +", symbol);
    int n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        bool pos = false, ty = false;
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            const char *k = kv->element[j]->str, *v = kv->element[j + 1]->str;
            pos |= strcmp(k, "pos_id") == 0 && strcmp(v, pos_id) == 0;
            ty |= strcmp(k, "type") == 0 && strcmp(v, type) == 0;
        }
        n += pos && ty;
    }
    freeReplyObject(r);
    return n;
}

json_t *svc_await_log(svc_fx *f, const char *msg)
{
    return await_log(&f->p, msg);
}

json_t *svc_position(svc_fx *f, const char *pos_id)
{
    char path[96];
    snprintf(path, sizeof path, "/positions/%s", pos_id);
    json_t *doc = NULL;
    pump_in_background(&f->p);
    long st = http_get_json(f->port, path, &doc);
    pump_stop(&f->p);
    if (st != 200) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

const char *svc_request_intent(svc_fx *f, size_t i, char *buf, size_t cap)
{
    const s6_s4_peer_rec *rec = s6_s4_peer_get(f->peer, i);
    assert_non_null(rec);
    json_t *b = json_loads(rec->body, 0, NULL);
    const char *id = json_string_value(json_object_get(b, "intent_id"));
    snprintf(buf, cap, "%s", id ? id : "");
    json_decref(b);
    return buf;
}

int svc_resting_stops(svc_fx *f, const char *pos_id)
{
    int n = 0;
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        n += strcmp(o.pos_id, pos_id) == 0 &&
             strcmp(o.type, "STOP_MARKET") == 0 &&
             strcmp(o.state, "NEW") == 0;
    return n;
}

void svc_print_log(svc_fx *f)
{
    const char *log = f->p.err.data ? f->p.err.data : "";
    size_t n = strlen(log);
    fprintf(stderr, "---- s6-position stderr (last 12000 bytes) ----\n%s\n",
            log + (n > 12000 ? n - 12000 : 0));
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        fprintf(stderr, "peer order %zu: %s %s %s %s qty %s stop %s %s\n", i,
                o.intent_id, o.pos_id, o.type, o.side, o.quantity,
                o.stop_price, o.state);
}

/* ---- for the end-to-end stories ---- */

void svc_set(json_t *cfg, const char *section, const char *key, json_t *value)
{
    set_path(cfg, section, key, value);
}

void svc_set_param(json_t *cfg, const char *rule, const char *key,
                   json_t *value)
{
    json_t *params = json_object_get(json_object_get(cfg, "rules"), "params");
    json_t *r = json_object_get(params, rule);
    if (r == NULL) {
        r = json_object();
        json_object_set_new(params, rule, r);
    }
    json_t *base = json_object_get(r, "base");
    if (base == NULL) {
        base = json_object();
        json_object_set_new(r, "base", base);
    }
    json_object_set_new(base, key, value);
}

void svc_edit_common(json_t *cfg)
{
    set_path(cfg, "ticks", "manage_interval_s", json_integer(5));
    set_path(cfg, "ticks", "reconcile_interval_s", json_integer(3600));
    set_path(cfg, "treasury", "enabled", json_false());
    set_path(cfg, "auth", "token", json_string(SVC_TOKEN));
}

void svc_spawn(svc_fx *f, proc *p, int port, const char *instance)
{
    svc_spawn_env(f, p, port, instance, NULL);
}

void svc_spawn_env(svc_fx *f, proc *p, int port, const char *instance,
                   const char *extra)
{
    char portv[16], cfg[200], inst[96];
    snprintf(portv, sizeof portv, "PORT=%d", port);
    snprintf(cfg, sizeof cfg, "S6_CONFIG=%s", f->cfg_path);
    snprintf(inst, sizeof inst, "S6_INSTANCE_ID=%s", instance);
    const char *env[] = { portv, cfg, inst, "S6_LOG_LEVEL=info", extra, NULL };
    spawn(p, env, NULL);
}

void svc_await(svc_fx *f, bool (*cond)(svc_fx *f, void *ud), void *ud,
               const char *what)
{
    long deadline = now_ms() + GUARD_MS;
    while (!cond(f, ud)) {
        if (now_ms() > deadline) {
            svc_print_log(f);
            fail_msg("never happened: %s", what);
        }
        pump(&f->p, 50); /* reads the child's log while the state moves */
    }
}

const char *svc_hget(svc_fx *f, const char *key, const char *field,
                     char *buf, size_t cap)
{
    redisReply *r = svc_redis(f, "HGET %s %s", key, field);
    snprintf(buf, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return buf;
}

/* The value of field in a stream entry's field list, NULL when absent. */
static const char *entry_field(const redisReply *kv, const char *field)
{
    for (size_t j = 0; j + 1 < kv->elements; j += 2)
        if (strcmp(kv->element[j]->str, field) == 0)
            return kv->element[j + 1]->str;
    return NULL;
}

size_t svc_stream_count(svc_fx *f, const char *stream, const char *symbol)
{
    redisReply *r = svc_redis(f, "XRANGE %s - +", stream);
    size_t n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const char *s = entry_field(r->element[i]->element[1], "symbol");
        n += symbol == NULL || (s != NULL && strcmp(s, symbol) == 0);
    }
    freeReplyObject(r);
    return n;
}

const char *svc_stream_last(svc_fx *f, const char *stream, const char *field,
                            char *buf, size_t cap)
{
    redisReply *r = svc_redis(f, "XREVRANGE %s + - COUNT 1", stream);
    const char *v = r->elements > 0
                        ? entry_field(r->element[0]->element[1], field)
                        : NULL;
    snprintf(buf, cap, "%s", v ? v : "");
    freeReplyObject(r);
    return buf;
}

void svc_price(svc_fx *f, const char *market, const char *symbol, double mark,
               double mid)
{
    char m[32], d[32] = "", ts[32];
    snprintf(m, sizeof m, "%.2f", mark);
    if (mid > 0)
        snprintf(d, sizeof d, "%.2f", mid);
    snprintf(ts, sizeof ts, "%.3f", wall());
    const char *fmt_hset = mid > 0
        ? "HSET md:last:%s:%s symbol %s market %s mark %s ts %s mid %s"
        : "HSET md:last:%s:%s symbol %s market %s mark %s ts %s";
    freeReplyObject(svc_redis(f, fmt_hset, market, symbol, symbol, market, m,
                              ts, d));
    const char *fmt_xadd = mid > 0
        ? "XADD md:prices * symbol %s market %s mark %s ts %s mid %s"
        : "XADD md:prices * symbol %s market %s mark %s ts %s";
    freeReplyObject(svc_redis(f, fmt_xadd, symbol, market, m, ts, d));
}

void svc_signal(svc_fx *f, const char *symbol, const char *market,
                const char *side)
{
    char ts[32];
    snprintf(ts, sizeof ts, "%.3f", wall());
    freeReplyObject(svc_redis(f, "XADD strategy:signals * symbol %s market "
                                 "%s side %s strength 0.9 ts %s",
                              symbol, market, side, ts));
}

long svc_http(svc_fx *f, const char *method, const char *path,
              const char *token, const char *body, json_t **doc)
{
    s6_buf out = { 0 };
    if (f->running)
        pump_in_background(&f->p);
    long st = http_call(f->port, method, path, token, body, &out);
    if (f->running)
        pump_stop(&f->p);
    if (doc != NULL)
        *doc = out.data ? json_loads(out.data, 0, NULL) : NULL;
    s6_buf_free(&out);
    return st;
}

json_t *svc_order_body(svc_fx *f, const char *intent_id)
{
    const s6_s4_peer_rec *rec;
    for (size_t i = 0; (rec = s6_s4_peer_get(f->peer, i)) != NULL; i++) {
        if (strcmp(rec->path, "/orders") != 0)
            continue;
        json_t *b = json_loads(rec->body, 0, NULL);
        const char *id = json_string_value(json_object_get(b, "intent_id"));
        if (id != NULL && strcmp(id, intent_id) == 0)
            return b;
        json_decref(b);
    }
    return NULL;
}

int svc_orders_of(svc_fx *f, const char *pos_id, const char *purpose)
{
    int n = 0;
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        n += strcmp(o.pos_id, pos_id) == 0 && strcmp(o.purpose, purpose) == 0;
    return n;
}

json_t *svc_await_log_with(svc_fx *f, const char *msg, const char *needle)
{
    return await_log_match(&f->p, msg, needle, GUARD_MS);
}

typedef struct acked_want {
    const char *id;
} acked_want;

/* Stream ids compare as (ms, seq). */
static bool id_at_or_after(const char *a, const char *b)
{
    unsigned long long am = 0, as = 0, bm = 0, bs = 0;
    sscanf(a, "%llu-%llu", &am, &as);
    sscanf(b, "%llu-%llu", &bm, &bs);
    return am > bm || (am == bm && as >= bs);
}

static bool group_acked(svc_fx *f, void *ud)
{
    const acked_want *w = ud;
    redisReply *r = svc_redis(f, "XINFO GROUPS ord:{results}");
    bool ok = false;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *g = r->element[i];
        const char *last = NULL;
        long long pending = -1;
        bool ours = false;
        for (size_t j = 0; j + 1 < g->elements; j += 2) {
            const char *k = g->element[j]->str;
            redisReply *v = g->element[j + 1];
            if (strcmp(k, "name") == 0)
                ours = strcmp(v->str, "s6") == 0;
            else if (strcmp(k, "last-delivered-id") == 0)
                last = v->str;
            else if (strcmp(k, "pending") == 0)
                pending = v->integer;
        }
        ok |= ours && last != NULL && pending == 0 &&
              id_at_or_after(last, w->id);
    }
    freeReplyObject(r);
    return ok;
}

void svc_await_acked(svc_fx *f, const char *id)
{
    acked_want w = { id };
    svc_await(f, group_acked, &w, "ord:{results} read and acknowledged");
}

void svc_replay_last_result(svc_fx *f, char *id, size_t cap)
{
    redisReply *r = svc_redis(f, "XREVRANGE ord:{results} + - COUNT 1");
    assert_int_equal((int)r->elements, 1);
    redisReply *kv = r->element[0]->element[1];
    const char *argv[80];
    size_t n = 0;
    argv[n++] = "XADD";
    argv[n++] = "ord:{results}";
    argv[n++] = "*";
    for (size_t i = 0; i < kv->elements && n < 80; i++)
        argv[n++] = kv->element[i]->str;
    redisReply *x = f->cluster ? NULL : redisCommandArgv(f->rc, (int)n, argv, NULL);
    if (f->cluster)
        fail_msg("svc_replay_last_result: not on a cluster");
    assert_true(x != NULL && x->type == REDIS_REPLY_STRING);
    snprintf(id, cap, "%s", x->str);
    freeReplyObject(x);
    freeReplyObject(r);
}

void svc_fill(svc_fx *f, const char *result_id, const char *intent_id,
              const char *pos_id, const char *symbol, const char *market,
              const char *side, const char *fill_kind, const char *qty,
              const char *price, const char *sl_px)
{
    char ts[32], fee[32];
    snprintf(ts, sizeof ts, "%.3f", wall());
    snprintf(fee, sizeof fee, "%.6f", atof(qty) * atof(price) * 0.0005);
    bool entry = strcmp(fill_kind, "ENTRY") == 0;
    freeReplyObject(svc_redis(
        f, "XADD ord:{results} * result_id %s kind FILL intent_id %s "
           "pos_id %s symbol %s market %s side %s fill_kind %s qty %s "
           "price %s fee %s fee_asset QUOTE sl_px %s leverage %s "
           "risk_reserved %s concurrency_reserved %s ts %s",
        result_id, intent_id, pos_id, symbol, market, side, fill_kind, qty,
        price, fee, entry ? sl_px : "", strcmp(market, "SPOT") ? "10" : "1",
        entry ? "60" : "", entry ? "1" : "", ts));
}

typedef struct events_want {
    const char *symbol, *pos_id, *type;
    int n;
} events_want;

static bool events_reach(svc_fx *f, void *ud)
{
    const events_want *w = ud;
    return svc_count_events(f, w->symbol, w->pos_id, w->type) >= w->n;
}

int svc_await_events(svc_fx *f, const char *symbol, const char *pos_id,
                     const char *type, int n)
{
    events_want w = { symbol, pos_id, type, n };
    svc_await(f, events_reach, &w, type);
    return svc_count_events(f, symbol, pos_id, type);
}

int svc_resting_stop(svc_fx *f, const char *pos_id, s6_s4_peer_order *last)
{
    int n = 0;
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        if (strcmp(o.pos_id, pos_id) == 0 &&
            strcmp(o.type, "STOP_MARKET") == 0 && strcmp(o.state, "NEW") == 0) {
            n++;
            *last = o;
        }
    return n;
}
