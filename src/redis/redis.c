#include "redis/redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/cluster.h"
#include "redis/redis_io.h"

/* One command in flight.  It stays allocated until hiredis hands it back
 * (reply or NULL on teardown), even when we have already failed it to the
 * caller ourselves: then `cb` is NULL and the wrapper is only freed. */
typedef struct s6_rcmd {
    struct s6_rcmd *prev, *next;
    s6_redis *r;
    s6_redis_reply_cb cb;
    void *ud;
    uint64_t deadline_ms;
    bool internal; /* the handshake; not counted as the caller's */
} s6_rcmd;

struct s6_redis {
    uv_loop_t *loop;
    s6_redis_url url;
    s6_redis_opts opts;
    s6_redis_state state;
    redisAsyncContext *ac;
    s6_rcmd *head, *tail; /* FIFO: Redis answers in order */
    size_t in_flight;
    uv_timer_t conn_timer; /* connect timeout, then reconnect backoff */
    uv_timer_t cmd_timer;  /* the oldest command's deadline */
    uint32_t attempts;     /* failed connects since the last success */
    int handles_open;
    s6_cluster *cl;        /* redis+cluster://: everything goes there */
};

#define COMPONENT "redis"

/* ---- URL ---- */

static int url_fail(char *err, size_t errlen, const char *url, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "redis URL \"%s\": %s", url, what);
    return S6_EURL;
}

/* Parses a decimal in [lo, hi] from [s, end); no sign, no spaces. */
static bool parse_uint_range(const char *s, const char *end, long lo, long hi,
                             long *out)
{
    long v = 0;

    if (s == end || end - s > 9)
        return false;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

int s6_redis_url_parse(const char *url, s6_redis_url *out, char *err,
                       size_t errlen)
{
    static const char scheme[] = "redis://";
    s6_redis_url u = { .port = 6379, .db = 0 };
    long v;

    if (!url || !out)
        return url_fail(err, errlen, url ? url : "(null)", "no URL given");
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return url_fail(err, errlen, url, "scheme must be redis:// "
                        "(TLS and unix sockets are not supported)");
    const char *host = url + sizeof(scheme) - 1;
    const char *host_end = host + strcspn(host, ":/");
    if (strpbrk(host, "@?#"))
        return url_fail(err, errlen, url, "credentials, query and fragment "
                        "are not supported");
    if (host_end == host)
        return url_fail(err, errlen, url, "host is empty");
    if ((size_t)(host_end - host) >= sizeof(u.host))
        return url_fail(err, errlen, url, "host is longer than 255 bytes");
    for (const char *p = host; p < host_end; p++)
        if (!host_char_ok(*p))
            return url_fail(err, errlen, url, "host has a character outside "
                            "[A-Za-z0-9._-] (IPv6 literals are not supported)");
    memcpy(u.host, host, (size_t)(host_end - host));
    const char *p = host_end;
    if (*p == ':') {
        const char *port_end = p + 1 + strcspn(p + 1, "/");
        if (!parse_uint_range(p + 1, port_end, 1, 65535, &v))
            return url_fail(err, errlen, url, "port must be a number in 1..65535");
        u.port = (int)v;
        p = port_end;
    }
    if (*p == '/' && p[1] != '\0') {
        if (!parse_uint_range(p + 1, p + strlen(p), 0, 65535, &v))
            return url_fail(err, errlen, url, "database must be a number in "
                            "0..65535 after the single /");
        u.db = (int)v;
    }
    *out = u;
    return 0;
}

/* ---- the in-flight list ---- */

static void list_push(s6_redis *r, s6_rcmd *c)
{
    c->prev = r->tail;
    c->next = NULL;
    if (r->tail)
        r->tail->next = c;
    else
        r->head = c;
    r->tail = c;
    if (!c->internal)
        r->in_flight++;
}

static void list_unlink(s6_redis *r, s6_rcmd *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        r->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        r->tail = c->prev;
    c->prev = c->next = NULL;
    if (!c->internal)
        r->in_flight--;
}

static void fail_all(s6_redis *r, int code)
{
    /* Detach the whole list first: callbacks may issue new commands. */
    s6_rcmd *c = r->head;

    r->head = r->tail = NULL;
    r->in_flight = 0;
    while (c) {
        s6_rcmd *next = c->next;
        s6_redis_reply_cb cb = c->cb;
        c->cb = NULL;
        c->r = NULL;
        c->prev = c->next = NULL;
        if (cb)
            cb(r, NULL, code, c->ud);
        c = next;
    }
}

/* ---- connection life ---- */

static void log_state(s6_redis *r, const char *msg, int code)
{
    s6_log_field f[] = {
        S6_LOG_STR("conn", r->opts.name), S6_LOG_STR("host", r->url.host),
        S6_LOG_INT("port", r->url.port),
        S6_LOG_STR("error", code ? s6_strerror(code) : NULL),
    };
    s6_log_write(r->opts.log, code ? S6_LOG_WARN : S6_LOG_INFO, COMPONENT, msg,
                 f, code ? 4 : 3);
}

static void set_state(s6_redis *r, s6_redis_state st, int code)
{
    if (r->state == st)
        return;
    r->state = st;
    if (r->opts.on_state)
        r->opts.on_state(r, st, code, r->opts.state_ud);
}

static void start_connect(s6_redis *r);

static void on_conn_timer(uv_timer_t *t);

/* Drops the hiredis context (if any), fails what was in flight, and
 * schedules the next attempt with capped exponential backoff. */
static void go_down(s6_redis *r, int code)
{
    redisAsyncContext *ac = r->ac;

    r->ac = NULL;
    if (ac)
        ac->data = NULL; /* our hiredis callbacks ignore a detached context */
    uv_timer_stop(&r->cmd_timer);
    uv_timer_stop(&r->conn_timer);
    /* State first: the callbacks below see DOWN (or CLOSED) and may close. */
    if (r->state != S6_REDIS_CLOSED) {
        uint64_t delay = r->opts.reconnect_min_ms;
        for (uint32_t i = 0; i < r->attempts && delay < r->opts.reconnect_max_ms; i++)
            delay *= 2;
        if (delay > r->opts.reconnect_max_ms)
            delay = r->opts.reconnect_max_ms;
        r->attempts++;
        log_state(r, "redis down", code);
        uv_timer_start(&r->conn_timer, on_conn_timer, delay, 0);
        set_state(r, S6_REDIS_DOWN, code);
    }
    /* Our code before hiredis': freeing the context would fail each command
     * as a plain disconnect. */
    fail_all(r, code);
    if (ac)
        redisAsyncFree(ac); /* deferred by hiredis when inside its callback */
}

static void on_conn_timer(uv_timer_t *t)
{
    s6_redis *r = t->data;

    if (r->state == S6_REDIS_CONNECTING)
        go_down(r, S6_ECONNECT); /* the connect timeout */
    else if (r->state == S6_REDIS_DOWN)
        start_connect(r);
}

static void on_cmd_timer(uv_timer_t *t)
{
    s6_redis *r = t->data;
    uint64_t now = uv_now(r->loop);

    if (!r->head)
        return;
    if (now >= r->head->deadline_ms) {
        s6_log_warn(r->opts.log, COMPONENT, "redis command timed out",
                    S6_LOG_STR("conn", r->opts.name),
                    S6_LOG_INT("in_flight", (long long)r->in_flight));
        /* While connecting, the handshake is the head: a connect failure. */
        go_down(r, r->state == S6_REDIS_CONNECTING ? S6_ECONNECT
                                                   : S6_ETIMEDOUT);
        return;
    }
    uv_timer_start(&r->cmd_timer, on_cmd_timer, r->head->deadline_ms - now, 0);
}

static void on_hiredis_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    s6_rcmd *c = priv;
    const redisReply *rep = reply;

    (void)ac;
    if (c->cb) {
        int code = !rep ? S6_EDISCONNECTED
                   : rep->type == REDIS_REPLY_ERROR ? S6_EREPLY : 0;
        s6_redis *r = c->r;
        s6_redis_reply_cb cb = c->cb;
        list_unlink(r, c);
        c->cb = NULL;
        c->r = NULL;
        cb(r, rep, code, c->ud);
    }
    free(c);
}

static void on_hiredis_connect(const redisAsyncContext *ac, int status)
{
    s6_redis *r = ac->data;

    if (!r || status == REDIS_OK)
        return; /* UP comes with the handshake reply */
    /* hiredis frees the context after this returns. */
    r->ac = NULL;
    ((redisAsyncContext *)ac)->data = NULL;
    go_down(r, S6_ECONNECT);
}

static void on_hiredis_disconnect(const redisAsyncContext *ac, int status)
{
    s6_redis *r = ac->data;

    (void)status;
    if (!r || r->ac != ac)
        return;
    r->ac = NULL; /* hiredis frees it */
    go_down(r, S6_EDISCONNECTED);
}

static void on_handshake(s6_redis *r, const redisReply *reply, int code,
                         void *ud)
{
    (void)reply;
    (void)ud;
    if (!r || r->state != S6_REDIS_CONNECTING)
        return;
    uv_timer_stop(&r->conn_timer);
    if (code != 0) {
        if (code == S6_EREPLY)
            s6_log_error(r->opts.log, COMPONENT, "redis handshake refused",
                         S6_LOG_STR("conn", r->opts.name),
                         S6_LOG_INT("db", r->url.db),
                         S6_LOG_STR("reply", reply ? reply->str : NULL));
        go_down(r, S6_ECONNECT);
        return;
    }
    r->attempts = 0;
    log_state(r, "redis up", 0);
    set_state(r, S6_REDIS_UP, 0);
}

static int submit(s6_redis *r, uint64_t timeout_ms, bool internal,
                  s6_redis_reply_cb cb, void *ud, int argc,
                  const char *const *argv, const size_t *argvlen)
{
    s6_rcmd *c = calloc(1, sizeof(*c));

    if (!c)
        return S6_ENOMEM;
    c->r = r;
    c->cb = cb;
    c->ud = ud;
    c->internal = internal;
    c->deadline_ms = uv_now(r->loop) + timeout_ms;
    if (redisAsyncCommandArgv(r->ac, on_hiredis_reply, c, argc,
                              (const char **)argv, argvlen) != REDIS_OK) {
        free(c);
        return S6_EDISCONNECTED;
    }
    bool was_idle = r->head == NULL;
    list_push(r, c);
    if (was_idle)
        uv_timer_start(&r->cmd_timer, on_cmd_timer,
                       c->deadline_ms - uv_now(r->loop), 0);
    return 0;
}

static void start_connect(s6_redis *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->url.host, r->url.port);
    int rc = ac ? 0 : S6_ENOMEM;

    set_state(r, S6_REDIS_CONNECTING, 0);
    if (r->state == S6_REDIS_CLOSED) { /* closed from the state callback */
        if (ac)
            redisAsyncFree(ac);
        return;
    }
    if (ac && ac->err) {
        s6_log_warn(r->opts.log, COMPONENT, "redis connect failed",
                    S6_LOG_STR("conn", r->opts.name),
                    S6_LOG_STR("host", r->url.host), S6_LOG_STR("error", ac->errstr));
        rc = S6_ECONNECT;
    }
    if (rc == 0)
        rc = s6_redis_io_attach(ac, r->loop);
    if (rc != 0) {
        if (ac)
            redisAsyncFree(ac);
        go_down(r, S6_ECONNECT);
        return;
    }
    ac->data = r;
    redisAsyncSetConnectCallback(ac, on_hiredis_connect);
    redisAsyncSetDisconnectCallback(ac, on_hiredis_disconnect);
    r->ac = ac;
    uv_timer_start(&r->conn_timer, on_conn_timer, r->opts.connect_timeout_ms, 0);
    /* The handshake proves Redis answers (not only that TCP connected) and
     * selects the database; queued first, so it precedes any caller's
     * command on this connection. */
    char db[8];
    snprintf(db, sizeof(db), "%d", r->url.db);
    const char *argv[] = { "SELECT", db };
    const size_t lens[] = { 6, strlen(db) };
    if (submit(r, r->opts.connect_timeout_ms, true, on_handshake, NULL, 2, argv, lens) != 0)
        go_down(r, S6_ECONNECT);
}

static uint32_t or_default(uint32_t v, uint32_t dflt) { return v ? v : dflt; }

static void apply_defaults(s6_redis_opts *o)
{
    o->connect_timeout_ms = or_default(o->connect_timeout_ms, 1000);
    o->command_timeout_ms = or_default(o->command_timeout_ms, 2000);
    o->reconnect_min_ms = or_default(o->reconnect_min_ms, 50);
    o->reconnect_max_ms = or_default(o->reconnect_max_ms, 5000);
    if (o->reconnect_max_ms < o->reconnect_min_ms)
        o->reconnect_max_ms = o->reconnect_min_ms;
    if (!o->name)
        o->name = "redis";
}

/* The same facade; the cluster owns it from here and frees it. */
static int open_cluster(uv_loop_t *loop, const char *url,
                        const s6_redis_opts *opts, s6_redis **out, char *err,
                        size_t errlen)
{
    s6_redis *r = calloc(1, sizeof(*r));
    s6_cluster *cl = NULL;
    if (!r)
        return S6_ENOMEM;
    if (opts)
        r->opts = *opts;
    apply_defaults(&r->opts);
    r->loop = loop;
    int rc = s6_cluster_open(loop, url, &r->opts, r, &cl, err, errlen);
    if (rc != 0) {
        if (!cl)
            free(r);
        return rc;
    }
    r->cl = cl;
    *out = r;
    return 0;
}

int s6_redis_open(uv_loop_t *loop, const char *url, const s6_redis_opts *opts,
                  s6_redis **out, char *err, size_t errlen)
{
    s6_redis_url u;
    int rc;

    if (!loop || !out)
        return S6_EINVAL;
    if (s6_cluster_url_is(url))
        return open_cluster(loop, url, opts, out, err, errlen);
    if ((rc = s6_redis_url_parse(url, &u, err, errlen)) != 0)
        return rc;
    s6_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return S6_ENOMEM;
    r->loop = loop;
    r->url = u;
    if (opts)
        r->opts = *opts;
    apply_defaults(&r->opts);
    r->state = S6_REDIS_DOWN;
    uv_timer_init(loop, &r->conn_timer);
    uv_timer_init(loop, &r->cmd_timer);
    r->conn_timer.data = r->cmd_timer.data = r;
    r->handles_open = 2;
    *out = r;
    start_connect(r);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    s6_redis *r = h->data;

    if (--r->handles_open == 0)
        free(r);
}

void s6_redis_close(s6_redis *r)
{
    if (r && r->cl) {
        s6_cluster_close(r->cl);
        return;
    }
    if (!r || r->state == S6_REDIS_CLOSED)
        return;
    set_state(r, S6_REDIS_CLOSED, 0);
    go_down(r, S6_ECANCELED);
    uv_close((uv_handle_t *)&r->conn_timer, on_handle_closed);
    uv_close((uv_handle_t *)&r->cmd_timer, on_handle_closed);
}

s6_redis_state s6_redis_get_state(const s6_redis *r)
{
    return r->cl ? s6_cluster_get_state(r->cl) : r->state;
}

size_t s6_redis_in_flight(const s6_redis *r)
{
    return r->cl ? s6_cluster_in_flight(r->cl) : r->in_flight;
}

bool s6_redis_is_cluster(const s6_redis *r) { return r && r->cl; }

int s6_redis_cluster_stats_get(const s6_redis *r, s6_redis_cluster_stats *st)
{
    if (!r || !r->cl || !st)
        return S6_EINVAL;
    s6_cluster_get_stats(r->cl, st);
    return 0;
}

int s6_redis_cmd_ex(s6_redis *r, uint32_t extra_ms, s6_redis_reply_cb cb,
                    void *ud, int argc, const char *const *argv,
                    const size_t *argvlen)
{
    if (!r || !cb || argc <= 0 || !argv || !argvlen)
        return S6_EINVAL;
    for (int i = 0; i < argc; i++)
        if (!argv[i])
            return S6_EINVAL;
    if (r->cl)
        return s6_cluster_cmd(r->cl, extra_ms, cb, ud, argc, argv, argvlen);
    if (r->state == S6_REDIS_CLOSED)
        return S6_ECLOSED;
    if (!r->ac)
        return S6_EDOWN;
    return submit(r, (uint64_t)r->opts.command_timeout_ms + extra_ms, false, cb, ud, argc, argv, argvlen);
}

int s6_redis_cmd_at(s6_redis *r, int slot, uint32_t extra_ms,
                    s6_redis_reply_cb cb, void *ud, int argc,
                    const char *const *argv, const size_t *argvlen)
{
    if (!r || !r->cl || slot < 0)
        return s6_redis_cmd_ex(r, extra_ms, cb, ud, argc, argv, argvlen);
    if (!cb || argc <= 0 || !argv || !argvlen)
        return S6_EINVAL;
    return s6_cluster_cmd_slot(r->cl, slot, extra_ms, cb, ud, argc, argv,
                               argvlen);
}

int s6_redis_cmd(s6_redis *r, s6_redis_reply_cb cb, void *ud, int argc,
                 const char *const *argv, const size_t *argvlen)
{
    return s6_redis_cmd_ex(r, 0, cb, ud, argc, argv, argvlen);
}
