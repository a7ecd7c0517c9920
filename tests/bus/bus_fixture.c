#include "bus_fixture.h"

#include "bus/fields.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_guard(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

bool bus_run_until(bus_fx *f, bool (*cond)(void *), void *arg,
                   uint64_t guard_ms)
{
    uv_timer_t guard;
    bool expired = false;
    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, guard_ms, 0);
    while (!cond(arg) && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static bool flag_set(void *flag)
{
    return *(const bool *)flag;
}

bool bus_run_flag(bus_fx *f, const bool *flag, uint64_t guard_ms)
{
    return bus_run_until(f, flag_set, (void *)flag, guard_ms);
}

typedef struct sync_cmd {
    bus_reply *out;
    bool done;
} sync_cmd;

static void copy_reply(bus_reply *o, const redisReply *rep)
{
    o->type = rep->type;
    o->integer = rep->integer;
    if (rep->str)
        snprintf(o->str, sizeof o->str, "%.*s", (int)rep->len, rep->str);
    o->elements = rep->elements;
    for (size_t i = 0; i < rep->elements && o->n_items < 64; i++) {
        const redisReply *e = rep->element[i];
        if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
            snprintf(o->items[o->n_items++], sizeof o->items[0], "%.*s",
                     (int)e->len, e->str);
        else if (e->type == REDIS_REPLY_INTEGER)
            snprintf(o->items[o->n_items++], sizeof o->items[0], "%lld",
                     e->integer);
    }
}

static void on_sync(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    sync_cmd *s = ud;
    (void)r;
    memset(s->out, 0, sizeof *s->out);
    s->out->code = code;
    if (rep)
        copy_reply(s->out, rep);
    s->done = true;
}

int bus_cmd(bus_fx *f, bus_reply *out, int argc, const char *const *argv)
{
    bus_reply scratch;
    sync_cmd s = { .out = out ? out : &scratch };
    int rc = s6_bus_cmd(f->cmd, 0, on_sync, &s, argc, argv);
    if (rc == 0 && !bus_run_flag(f, &s.done, 5000))
        rc = S6_ETIMEDOUT;
    if (rc == 0 && s.out->code != 0)
        rc = s.out->code;
    if (rc != 0)
        fprintf(stderr, "%s: %s %s\n", argv[0], s6_strerror(rc),
                s.done ? s.out->str : "");
    return rc == 0 ? 0 : -1;
}

int bus_cmdv(bus_fx *f, bus_reply *out, ...)
{
    const char *argv[64];
    int argc = 0;
    va_list ap;
    va_start(ap, out);
    for (const char *a; argc < 64 && (a = va_arg(ap, const char *));)
        argv[argc++] = a;
    va_end(ap);
    return bus_cmd(f, out, argc, argv);
}

const char *bus_field(const bus_reply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->n_items; i += 2)
        if (strcmp(r->items[i], name) == 0)
            return r->items[i + 1];
    return NULL;
}

static bool client_up(void *r)
{
    return s6_redis_get_state(r) == S6_REDIS_UP;
}

/* One cluster for the whole process (starting one takes seconds), emptied
 * before each test; removed at exit. */
static s6test_cluster *shared_cluster;

static void destroy_cluster(void)
{
    s6test_cluster_destroy(shared_cluster);
    free(shared_cluster);
    shared_cluster = NULL;
}

bool bus_fx_on_cluster(void)
{
    const char *v = getenv("S6_TEST_REDIS_CLUSTER");
    return v && strcmp(v, "1") == 0;
}

s6test_cluster *bus_fx_cluster(void) { return shared_cluster; }

static int start_redis(bus_fx *f)
{
    if (!bus_fx_on_cluster())
        return s6test_redis_start(&f->srv);
    if (!shared_cluster) {
        shared_cluster = calloc(1, sizeof *shared_cluster);
        if (!shared_cluster || s6test_cluster_start(shared_cluster) != 0)
            return -1;
        atexit(destroy_cluster);
    }
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++) /* replicas refuse: fine */
        s6test_cluster_cmd(shared_cluster, i, NULL, 0, "FLUSHALL");
    memset(&f->srv, 0, sizeof f->srv);
    snprintf(f->srv.url, sizeof f->srv.url, "%s", shared_cluster->url);
    return 0;
}

int bus_fx_setup(bus_fx *f)
{
    memset(f, 0, sizeof *f);
    if (uv_loop_init(&f->loop) != 0 || start_redis(f) != 0)
        return -1;
    char err[256] = "";
    s6_redis_opts o = { .name = "test-cmd" };
    if (s6_redis_open(&f->loop, f->srv.url, &o, &f->cmd, err, sizeof err)) {
        fprintf(stderr, "open %s: %s\n", f->srv.url, err);
        return -1;
    }
    if (!bus_run_until(f, client_up, f->cmd, 5000)) {
        fprintf(stderr, "redis at %s never came up\n", f->srv.url);
        return -1;
    }
    return 0;
}

static void count_handle(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        fprintf(stderr, "handle left open: type %d\n", (int)h->type);
        ++*(int *)arg;
    }
}

int bus_fx_teardown(bus_fx *f)
{
    s6_redis_close(f->cmd);
    for (int i = 0; i < 100 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        ;
    int left = 0;
    uv_walk(&f->loop, count_handle, &left);
    s6test_redis_destroy(&f->srv);
    if (left) /* running the loop now would wait on them forever */
        return -1;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return uv_loop_close(&f->loop) == 0 ? 0 : -1;
}

int bus_fx_setup_state(void **state)
{
    bus_fx *f = calloc(1, sizeof *f);
    *state = f;
    return f ? bus_fx_setup(f) : -1;
}

int bus_fx_teardown_state(void **state)
{
    bus_fx *f = *state;
    int rc = bus_fx_teardown(f);
    free(f);
    return rc;
}
