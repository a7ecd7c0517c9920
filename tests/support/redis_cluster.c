#include "redis_cluster.h"

#include <errno.h>
#include <stdbool.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NODE_TIMEOUT_MS 1000
#define POLL_MS 20

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms) { poll(NULL, 0, ms); }

static int fail(const char *what)
{
    fprintf(stderr, "redis test cluster: %s\n", what);
    return -1;
}

static void reply_text(const redisReply *r, char *out, size_t n)
{
    if (!out || !n)
        return;
    out[0] = '\0';
    if (r->type == REDIS_REPLY_INTEGER)
        snprintf(out, n, "%lld", r->integer);
    else if (r->str)
        snprintf(out, n, "%s", r->str);
}

static redisContext *connect_node(const s6test_redis *srv)
{
    struct timeval tv = { .tv_sec = 2 };
    if (srv->pid <= 0)
        return NULL;
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", srv->port, tv);
    if (!ctx || ctx->err) {
        if (ctx)
            redisFree(ctx);
        return NULL;
    }
    redisSetTimeout(ctx, tv);
    return ctx;
}

static int vcmd(s6test_cluster *c, int i, redisReply **out, const char *fmt,
                va_list ap)
{
    redisContext *ctx = connect_node(&c->node[i]);
    if (!ctx)
        return -1;
    redisReply *r = redisvCommand(ctx, fmt, ap);
    redisFree(ctx);
    if (!r)
        return -1;
    *out = r;
    return 0;
}

int s6test_cluster_cmd(s6test_cluster *c, int i, char *out, size_t outlen,
                       const char *fmt, ...)
{
    redisReply *r;
    va_list ap;
    va_start(ap, fmt);
    int rc = vcmd(c, i, &r, fmt, ap);
    va_end(ap);
    if (rc != 0)
        return -1;
    reply_text(r, out, outlen);
    freeReplyObject(r);
    return 0;
}

static redisReply *cmd_reply(s6test_cluster *c, int i, const char *fmt, ...)
{
    redisReply *r = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vcmd(c, i, &r, fmt, ap);
    va_end(ap);
    return rc == 0 ? r : NULL;
}

static int index_of_port(const s6test_cluster *c, long long port)
{
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        if (c->node[i].port == port)
            return i;
    return -1;
}

static char *node_id(s6test_cluster *c, int i, char *out, size_t n)
{
    return s6test_cluster_cmd(c, i, out, n, "CLUSTER MYID") == 0 ? out : NULL;
}

/* Owner of every slot as node i sees it; -1 unknown. */
static int slot_owners(s6test_cluster *c, int i, int *owner)
{
    redisReply *r = cmd_reply(c, i, "CLUSTER SLOTS");
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    for (int s = 0; s < 16384; s++)
        owner[s] = -1;
    for (size_t k = 0; k < r->elements; k++) {
        redisReply *e = r->element[k];
        if (e->elements < 3)
            continue;
        int m = index_of_port(c, e->element[2]->element[1]->integer);
        for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
            owner[s] = m;
    }
    freeReplyObject(r);
    return 0;
}

int s6test_cluster_await_ok(s6test_cluster *c, int deadline_ms)
{
    static int first[16384], other[16384];
    long long end = now_ms() + deadline_ms;
    for (;;) {
        bool ok = true;
        int ref = -1;
        for (int i = 0; i < S6TEST_CLUSTER_NODES && ok; i++) {
            char info[2048];
            if (c->node[i].pid <= 0)
                continue;
            ok = s6test_cluster_cmd(c, i, info, sizeof info, "CLUSTER INFO") == 0 &&
                 strstr(info, "cluster_state:ok") != NULL;
            int *o = ref < 0 ? first : other;
            ok = ok && slot_owners(c, i, o) == 0;
            for (int s = 0; ok && s < 16384; s++)
                ok = o[s] >= 0 && c->node[o[s]].pid > 0 &&
                     (ref < 0 || o[s] == first[s]);
            ref = ok ? i : ref;
        }
        if (ok)
            return 0;
        if (now_ms() > end)
            return fail("the cluster did not settle (state ok, one view of "
                        "the slots) in time");
        pause_ms(POLL_MS);
    }
}

static int create(s6test_cluster *c)
{
    char addr[S6TEST_CLUSTER_NODES][32];
    const char *argv[S6TEST_CLUSTER_NODES + 8] = { "redis-cli", "--cluster",
                                                   "create" };
    int n = 3;
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", c->node[i].port);
        argv[n++] = addr[i];
    }
    argv[n++] = "--cluster-replicas";
    argv[n++] = "1";
    argv[n++] = "--cluster-yes";
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        char log[160];
        snprintf(log, sizeof log, "%s/create.log", c->node[0].dir);
        if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("redis-cli --cluster create failed (see create.log in "
                    "the first node's dir)");
    return 0;
}

int s6test_cluster_start(s6test_cluster *c)
{
    memset(c, 0, sizeof *c);
    c->route = -1;
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        if (s6test_redis_start_cluster_node(&c->node[i], NODE_TIMEOUT_MS) != 0) {
            s6test_cluster_destroy(c);
            return -1;
        }
    snprintf(c->url, sizeof c->url,
             "redis+cluster://127.0.0.1:%d,127.0.0.1:%d/", c->node[0].port,
             c->node[1].port);
    if (create(c) != 0 || s6test_cluster_await_ok(c, 20000) != 0) {
        s6test_cluster_destroy(c);
        return -1;
    }
    return 0;
}

void s6test_cluster_destroy(s6test_cluster *c)
{
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        s6test_redis_destroy(&c->node[i]);
}

static int any_live(const s6test_cluster *c)
{
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        if (c->node[i].pid > 0)
            return i;
    return -1;
}

int s6test_cluster_slot_ports(s6test_cluster *c, int *ports)
{
    static int owner[16384];
    int i = any_live(c);
    if (i < 0 || slot_owners(c, i, owner) != 0)
        return -1;
    for (int s = 0; s < 16384; s++)
        ports[s] = owner[s] >= 0 ? c->node[owner[s]].port : 0;
    return 0;
}

int s6test_cluster_master_of(s6test_cluster *c, int slot)
{
    static int owner[16384];
    int i = any_live(c);
    if (i < 0 || slot_owners(c, i, owner) != 0)
        return -1;
    return owner[slot];
}

int s6test_cluster_replica_of(s6test_cluster *c, int m)
{
    char info[1024], port[32];
    snprintf(port, sizeof port, "master_port:%d", c->node[m].port);
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++) {
        if (i == m || c->node[i].pid <= 0)
            continue;
        if (s6test_cluster_cmd(c, i, info, sizeof info, "INFO replication") == 0 &&
            strstr(info, "role:slave") && strstr(info, port))
            return i;
    }
    return -1;
}

static int setslot_everywhere(s6test_cluster *c, int slot, const char *to_id)
{
    char out[128];
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        if (c->node[i].pid > 0 &&
            s6test_cluster_cmd(c, i, out, sizeof out, "CLUSTER SETSLOT %d NODE %s",
                               slot, to_id) != 0)
            return -1;
    return 0;
}

int s6test_cluster_migrate_slot(s6test_cluster *c, int slot, int to,
                                void (*between)(void *ud), void *ud)
{
    char from_id[64], to_id[64], out[256];
    int from = s6test_cluster_master_of(c, slot);
    if (from < 0 || from == to || !node_id(c, from, from_id, sizeof from_id) ||
        !node_id(c, to, to_id, sizeof to_id))
        return fail("migrate: no owner, or already there");
    if (s6test_cluster_cmd(c, to, out, sizeof out, "CLUSTER SETSLOT %d IMPORTING %s",
                           slot, from_id) != 0 ||
        s6test_cluster_cmd(c, from, out, sizeof out, "CLUSTER SETSLOT %d MIGRATING %s",
                           slot, to_id) != 0)
        return fail("migrate: SETSLOT IMPORTING/MIGRATING");
    bool called = false;
    for (;;) {
        redisReply *keys = cmd_reply(c, from, "CLUSTER GETKEYSINSLOT %d 100", slot);
        if (!keys || keys->type != REDIS_REPLY_ARRAY) {
            if (keys)
                freeReplyObject(keys);
            return fail("migrate: GETKEYSINSLOT");
        }
        size_t n = keys->elements;
        for (size_t k = 0; k < n; k++) {
            if (s6test_cluster_cmd(c, from, out, sizeof out,
                                   "MIGRATE 127.0.0.1 %d %b 0 5000 REPLACE",
                                   c->node[to].port, keys->element[k]->str,
                                   keys->element[k]->len) != 0 ||
                strncmp(out, "OK", 2) != 0) {
                freeReplyObject(keys);
                return fail("migrate: MIGRATE");
            }
            if (!called && between) {
                called = true;
                between(ud);
            }
        }
        freeReplyObject(keys);
        if (n == 0)
            break;
    }
    if (!called && between)
        between(ud);
    if (setslot_everywhere(c, slot, to_id) != 0)
        return fail("migrate: SETSLOT NODE");
    return s6test_cluster_await_ok(c, 10000);
}

static bool is_master(s6test_cluster *c, int i)
{
    char info[512];
    return s6test_cluster_cmd(c, i, info, sizeof info, "INFO replication") == 0 &&
           strstr(info, "role:master") != NULL;
}

long long s6test_cluster_dbsize(s6test_cluster *c)
{
    long long n = 0;
    char out[32];
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        if (c->node[i].pid > 0 && is_master(c, i) &&
            s6test_cluster_cmd(c, i, out, sizeof out, "DBSIZE") == 0)
            n += atoll(out);
    return n;
}

/* A manual failover needs the replica's link to its master up (Redis
 * aborts it silently after its own 5 s timeout otherwise); right after the
 * cluster is made the first sync may still be waiting on the
 * diskless-sync delay. */
static int await_link_up(s6test_cluster *c, int r, long long end)
{
    char info[1024];
    for (;;) {
        if (s6test_cluster_cmd(c, r, info, sizeof info, "INFO replication") == 0 &&
            strstr(info, "master_link_status:up") != NULL)
            return 0;
        if (now_ms() > end)
            return fail("failover: the replica's link to its master is down");
        pause_ms(POLL_MS);
    }
}

int s6test_cluster_failover(s6test_cluster *c, int m)
{
    char out[128];
    int r = s6test_cluster_replica_of(c, m);
    if (r < 0)
        return fail("failover: the master has no replica");
    /* two tries: a failover Redis gave up on (its 5 s manual-failover
     * timeout on a slow machine) is asked for again */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (await_link_up(c, r, now_ms() + 20000) != 0)
            return -1;
        if (s6test_cluster_cmd(c, r, out, sizeof out, "CLUSTER FAILOVER") != 0 ||
            strncmp(out, "OK", 2) != 0)
            return fail("failover: CLUSTER FAILOVER refused");
        long long end = now_ms() + 10000;
        while (!is_master(c, r) && now_ms() <= end)
            pause_ms(POLL_MS);
        if (is_master(c, r))
            return s6test_cluster_await_ok(c, 10000);
    }
    return fail("failover: the replica did not become master");
}

static long long field_ll(const char *text, const char *name)
{
    const char *p = strstr(text, name);
    return p ? atoll(p + strlen(name)) : -1;
}

int s6test_cluster_await_replicated(s6test_cluster *c, int m)
{
    char info[2048];
    long long end = now_ms() + 10000;
    for (;;) {
        if (s6test_cluster_cmd(c, m, info, sizeof info, "INFO replication") != 0)
            return fail("replicated: the master does not answer");
        long long want = field_ll(info, "master_repl_offset:");
        const char *slave = strstr(info, "slave0:");
        long long have = slave ? field_ll(slave, "offset=") : -1;
        if (have >= want && want >= 0)
            return 0;
        if (now_ms() > end)
            return fail("replicated: the replica did not catch up");
        pause_ms(POLL_MS);
    }
}

int s6test_cluster_kill_master(s6test_cluster *c, int m)
{
    int r = s6test_cluster_replica_of(c, m);
    if (r < 0)
        return fail("kill: the master has no replica");
    s6test_redis_stop(&c->node[m]);
    long long end = now_ms() + 15000;
    while (!is_master(c, r)) {
        if (now_ms() > end)
            return fail("kill: no replica took over");
        pause_ms(POLL_MS);
    }
    return s6test_cluster_await_ok(c, 15000);
}

/* ---- a blocking client that follows the cluster ---- */

static int redirect_port(const redisReply *r)
{
    const char *colon = r->str ? strrchr(r->str, ':') : NULL;
    return colon ? atoi(colon + 1) : -1;
}

static redisReply *send_raw(s6test_cluster *c, int i, const char *raw,
                            size_t len, bool asking)
{
    redisContext *ctx = connect_node(&c->node[i]);
    redisReply *r = NULL;
    if (!ctx)
        return NULL;
    if (asking) {
        redisReply *a = redisCommand(ctx, "ASKING");
        if (a)
            freeReplyObject(a);
    }
    if (redisAppendFormattedCommand(ctx, raw, len) == REDIS_OK)
        redisGetReply(ctx, (void **)&r);
    redisFree(ctx);
    return r;
}

redisReply *s6test_cluster_vcommand(s6test_cluster *c, const char *fmt,
                                    va_list ap)
{
    char *raw = NULL;
    int len = redisvFormatCommand(&raw, fmt, ap);
    if (len < 0)
        return NULL;
    redisReply *r = NULL;
    int node = c->route >= 0 && c->node[c->route].pid > 0 ? c->route : any_live(c);
    bool asking = false;
    long long end = now_ms() + 20000;
    while (node >= 0 && now_ms() < end) {
        r = send_raw(c, node, raw, (size_t)len, asking);
        asking = false;
        bool moved = r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "MOVED ", 6);
        bool ask = r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "ASK ", 4);
        bool again = !r || (r->type == REDIS_REPLY_ERROR &&
                            (!strncmp(r->str, "CLUSTERDOWN", 11) ||
                             !strncmp(r->str, "TRYAGAIN", 8)));
        if (!moved && !ask && !again) {
            c->route = node;
            break;
        }
        int to = moved || ask ? index_of_port(c, redirect_port(r)) : -1;
        if (r)
            freeReplyObject(r);
        r = NULL;
        if (to >= 0) {
            node = to;
            asking = ask;
        } else { /* a dead node or a cluster electing: another, shortly */
            pause_ms(POLL_MS);
            for (int k = 1; k <= S6TEST_CLUSTER_NODES; k++)
                if (c->node[(node + k) % S6TEST_CLUSTER_NODES].pid > 0) {
                    node = (node + k) % S6TEST_CLUSTER_NODES;
                    break;
                }
        }
    }
    redisFreeCommand(raw);
    return r;
}

redisReply *s6test_cluster_command(s6test_cluster *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = s6test_cluster_vcommand(c, fmt, ap);
    va_end(ap);
    return r;
}
