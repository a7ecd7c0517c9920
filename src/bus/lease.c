#include "bus/lease.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fields.h"

struct s6_lease {
    uv_loop_t *loop;
    s6_redis *r;
    uv_timer_t tick;
    s6_lease_opts o;
    char key[128], id[64];
    char holder_key[136];
    char *holder;           /* opts.holder, copied; NULL: none */
    bool closed;
    bool busy;              /* an attempt or renewal is in flight */
    uint64_t ok_sent_at;    /* loop ms when the last good renewal was sent */
    uint64_t sent_at;
    unsigned refs;
    s6_lease_stats st;
};

static const char *comp = "lease";

/* Extends the key only while it still holds our id. */
static const char renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n";

/* Takes a free key, or takes back our own: an instance restarted under
 * the same id (its own lease still alive after a crash) goes on at once
 * instead of waiting out the ttl.  Ids are unique among running
 * instances, so "our own" is never someone else's. */
static const char acquire_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "if cur then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 1\n";

static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

static void unref(s6_lease *l)
{
    if (--l->refs == 0 && l->closed) {
        free(l->holder);
        free(l);
    }
}

static void on_holder_set(s6_redis *r, const redisReply *rep, int code,
                          void *ud)
{
    (void)r, (void)rep, (void)code;
    unref(ud);
}

/* The holder key lives as long as the lease: a lapsed holder's address
 * goes with its lease.  Fire and forget: the next renewal writes it
 * again, and readers check it against the lease key. */
static void advertise(s6_lease *l)
{
    if (!l->holder)
        return;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%u", l->o.ttl_ms);
    const char *argv[] = { "SET", l->holder_key, l->holder, "PX", ttl };
    if (s6_bus_cmd(l->r, 0, on_holder_set, l, 5, argv) == 0)
        l->refs++;
}

static void lose(s6_lease *l, const char *why)
{
    if (!l->st.held)
        return;
    l->st.held = false;
    l->st.lost++;
    s6_log_error(l->o.log, comp, "lease lost", S6_LOG_STR("key", l->key),
                 S6_LOG_STR("instance", l->id), S6_LOG_STR("why", why));
    if (l->o.on_lost)
        l->o.on_lost(l->o.ud, why);
}

static void on_set(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_lease *l = ud;
    (void)r;
    l->busy = false;
    if (!l->closed && code == 0 && rep->type == REDIS_REPLY_INTEGER &&
        rep->integer == 1) {
        l->ok_sent_at = l->sent_at;
        l->st.held = true;
        l->st.acquired++;
        s6_log_info(l->o.log, comp, "lease acquired",
                    S6_LOG_STR("key", l->key), S6_LOG_STR("instance", l->id));
        advertise(l);
        if (l->o.on_acquired)
            l->o.on_acquired(l->o.ud);
    }
    unref(l);
}

static void on_renewed(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    s6_lease *l = ud;
    (void)r;
    l->busy = false;
    if (!l->closed && l->st.held) {
        if (code == 0 && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
            l->ok_sent_at = l->sent_at;
            l->st.renewals++;
            advertise(l);
        } else if (code == 0 && rep->type == REDIS_REPLY_INTEGER) {
            lose(l, "the key holds another instance's id");
        }
        /* a failed renewal: the deadline in on_tick decides */
    }
    unref(l);
}

static void send_attempt(s6_lease *l)
{
    int rc;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%u", l->o.ttl_ms);
    l->sent_at = uv_now(l->loop);
    if (l->st.held) {
        const char *argv[] = { "EVAL", renew_lua, "1", l->key, l->id, ttl };
        rc = s6_bus_cmd(l->r, 0, on_renewed, l, 6, argv);
    } else {
        l->st.attempts++;
        const char *argv[] = { "EVAL", acquire_lua, "1", l->key, l->id, ttl };
        rc = s6_bus_cmd(l->r, 0, on_set, l, 6, argv);
    }
    if (rc == 0) {
        l->busy = true;
        l->refs++;
    }
}

/* Renewals go out every ttl/6 and the lease is given up when none sent in
 * the last 3/4 ttl has been confirmed: the key lives ttl from when Redis
 * applied a renewal, which is after we sent it, so a quarter ttl is left
 * for timer lateness, and a stall of Redis or the network shorter than
 * 7/12 ttl (several renewals in a row) costs nothing. */
enum { LEASE_RENEWS_PER_TTL = 6 };

static uint64_t give_up_after(const s6_lease *l)
{
    return (uint64_t)l->o.ttl_ms * 3 / 4;
}

static void on_tick(uv_timer_t *t)
{
    s6_lease *l = t->data;
    uint64_t now = uv_now(l->loop);
    if (l->st.held && now - l->ok_sent_at >= give_up_after(l))
        lose(l, "not renewed in time");
    if (!l->busy)
        send_attempt(l);
}

int s6_lease_start(uv_loop_t *loop, s6_redis *r, const s6_lease_opts *opts,
                   s6_lease **out, char *err, size_t errlen)
{
    const char *id = opts ? opts->instance_id : NULL;
    const char *key = opts && opts->key ? opts->key : S6_LEASE_KEY;
    uint32_t ttl = opts && opts->ttl_ms ? opts->ttl_ms : 10000;
    if (!loop || !r || !id || !id[0] || strlen(id) >= 64 || !key[0] ||
        strlen(key) >= 128 || ttl < 30) {
        snprintf(err, errlen, "lease: loop, connection, instance_id "
                 "(1..63 characters), key (1..127) and ttl_ms >= 30 are "
                 "required");
        return S6_EINVAL;
    }
    s6_lease *l = calloc(1, sizeof *l);
    if (!l)
        return S6_ENOMEM;
    l->o = *opts;
    l->o.ttl_ms = ttl;
    l->loop = loop;
    l->r = r;
    strcpy(l->key, key);
    strcpy(l->id, id);
    snprintf(l->holder_key, sizeof l->holder_key, "%s%s", key,
             S6_LEASE_HOLDER_SUFFIX);
    l->o.holder = NULL;
    if (opts->holder && !(l->holder = strdup(opts->holder))) {
        free(l);
        return S6_ENOMEM;
    }
    uv_timer_init(loop, &l->tick);
    l->tick.data = l;
    l->refs = 1; /* the timer's */
    uv_timer_start(&l->tick, on_tick, 0, ttl / LEASE_RENEWS_PER_TTL);
    *out = l;
    return 0;
}

static void on_released(s6_redis *r, const redisReply *rep, int code,
                        void *ud)
{
    (void)r;
    (void)rep;
    (void)code;
    unref(ud);
}

static void on_timer_closed(uv_handle_t *h)
{
    unref(h->data);
}

void s6_lease_close(s6_lease *l, bool release)
{
    if (!l || l->closed)
        return;
    l->closed = true;
    if (release && l->st.held) {
        const char *argv[] = { "EVAL", release_lua, "1", l->key, l->id };
        if (s6_bus_cmd(l->r, 0, on_released, l, 5, argv) == 0)
            l->refs++;
    }
    l->st.held = false;
    uv_close((uv_handle_t *)&l->tick, on_timer_closed);
}

bool s6_lease_held(const s6_lease *l)
{
    return l && !l->closed && l->st.held;
}

void s6_lease_get_stats(const s6_lease *l, s6_lease_stats *st)
{
    *st = l->st;
}
