/* The cluster's nodes, its seed URL and its slot map (CLUSTER SLOTS). */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/cluster_internal.h"

#define COMPONENT "redis"

/* A refresh at most this often; MOVED storms coalesce into one. */
enum { REFRESH_MIN_MS = 100, REFRESH_RETRY_MAX_MS = 1000 };

static const char scheme[] = "redis+cluster://";

bool s6_cluster_url_is(const char *url)
{
    return url && strncmp(url, scheme, sizeof scheme - 1) == 0;
}

void s6_cluster_set_state(s6_cluster *cl, s6_redis_state st, int code)
{
    if (cl->state == st)
        return;
    cl->state = st;
    s6_log_write(cl->opts.log, code ? S6_LOG_WARN : S6_LOG_INFO, COMPONENT,
                 st == S6_REDIS_UP ? "redis cluster up" : "redis cluster state",
                 (s6_log_field[]){ S6_LOG_STR("conn", cl->opts.name),
                                   S6_LOG_INT("state", st) }, 2);
    if (cl->opts.on_state)
        cl->opts.on_state(cl->facade, st, code, cl->opts.state_ud);
}

static bool node_reachable(const cnode *n)
{
    s6_redis_state st = s6_redis_get_state(n->r);
    return st == S6_REDIS_UP || st == S6_REDIS_CONNECTING;
}

void s6_cluster_update_state(s6_cluster *cl)
{
    if (cl->closed)
        return;
    bool any = false;
    for (cnode *n = cl->nodes; n && !any; n = n->next)
        any = s6_redis_get_state(n->r) == S6_REDIS_UP;
    if (any && cl->have_map)
        s6_cluster_set_state(cl, S6_REDIS_UP, 0);
    else if (!any && cl->state != S6_REDIS_DOWN) {
        bool trying = false;
        for (cnode *n = cl->nodes; n && !trying; n = n->next)
            trying = node_reachable(n);
        if (!trying)
            s6_cluster_set_state(cl, S6_REDIS_DOWN, S6_EDISCONNECTED);
    }
}

cnode *s6_cluster_any_node(s6_cluster *cl)
{
    for (cnode *n = cl->nodes; n; n = n->next)
        if (s6_redis_get_state(n->r) == S6_REDIS_UP)
            return n;
    return NULL;
}

static void on_node_state(s6_redis *r, s6_redis_state st, int code, void *ud)
{
    cnode *n = ud;
    s6_cluster *cl = n->cl;

    (void)code;
    (void)r;
    if (cl->closed || st == S6_REDIS_CLOSED || !n->listed)
        return; /* not listed: still inside s6_redis_open */
    if (st == S6_REDIS_DOWN)
        s6_cluster_refresh(cl); /* a failover may have moved its slots */
    s6_cluster_update_state(cl);
    if (st == S6_REDIS_UP) {
        if (!cl->have_map || cl->refresh_due)
            s6_cluster_refresh(cl);
        s6_cluster_pump(cl);
    }
}

cnode *s6_cluster_node_get(s6_cluster *cl, const char *host, size_t hostlen,
                           int port)
{
    cnode **tail = &cl->nodes;
    for (cnode *n = cl->nodes; n; tail = &n->next, n = n->next)
        if (n->port == port && strlen(n->host) == hostlen &&
            memcmp(n->host, host, hostlen) == 0)
            return n;
    if (hostlen == 0 || hostlen >= sizeof((cnode *)0)->host)
        return NULL;
    cnode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->cl = cl;
    memcpy(n->host, host, hostlen);
    n->port = port;
    snprintf(n->name, sizeof n->name, "%s %s:%d", cl->opts.name, n->host, port);
    char url[300];
    snprintf(url, sizeof url, "redis://%s:%d/0", n->host, port);
    s6_redis_opts o = cl->opts;
    o.on_state = on_node_state;
    o.state_ud = n;
    o.name = n->name;
    if (s6_redis_open(cl->loop, url, &o, &n->r, NULL, 0) != 0) {
        free(n);
        return NULL;
    }
    *tail = n;
    n->listed = true;
    cl->st.nodes++;
    return n;
}

/* ---- the seed URL ---- */

static int seed_fail(char *err, size_t errlen, const char *url, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "redis URL \"%s\": %s", url, what);
    return S6_EURL;
}

/* One "host:port" of the list, checked by the single-node parser. */
static int add_seed(s6_cluster *cl, const char *url, const char *p, size_t n,
                    char *err, size_t errlen)
{
    char one[300];
    s6_redis_url u;
    if (n == 0 || n >= 280)
        return seed_fail(err, errlen, url, "a node address is empty or too long");
    snprintf(one, sizeof one, "redis://%.*s", (int)n, p);
    char why[256];
    if (s6_redis_url_parse(one, &u, why, sizeof why) != 0 || memchr(p, '/', n))
        return seed_fail(err, errlen, url, "each node must be host[:port] "
                         "with a host of [A-Za-z0-9._-] and a port in 1..65535");
    if (!cl)
        return 0;
    return s6_cluster_node_get(cl, u.host, strlen(u.host), u.port)
               ? 0 : S6_ENOMEM;
}

/* redis+cluster://h:p,h:p[/[0]]: a cluster has only database 0. */
int s6_cluster_parse_seeds(s6_cluster *cl, const char *url, char *err,
                           size_t errlen)
{
    const char *p = url + sizeof scheme - 1;
    size_t list = strcspn(p, "/");
    const char *tail = p + list;
    if (strpbrk(p, "@?#"))
        return seed_fail(err, errlen, url, "credentials, query and fragment "
                         "are not supported");
    if (*tail && strcmp(tail, "/") != 0 && strcmp(tail, "/0") != 0)
        return seed_fail(err, errlen, url, "a cluster has only database 0");
    if (list == 0)
        return seed_fail(err, errlen, url, "no node given");
    for (const char *s = p;; s++) {
        size_t n = strcspn(s, ",/");
        int rc = add_seed(cl, url, s, n, err, errlen);
        if (rc != 0)
            return rc;
        s += n;
        if (*s != ',')
            return 0;
    }
}

/* ---- the slot map ---- */

static bool int_el(const redisReply *r, long long *v)
{
    if (r->type != REDIS_REPLY_INTEGER)
        return false;
    *v = r->integer;
    return true;
}

/* One CLUSTER SLOTS entry: start, end, master [host, port, ...], replicas. */
static bool map_range(s6_cluster *cl, cnode *asked, const redisReply *e)
{
    long long lo, hi, port;
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        !int_el(e->element[0], &lo) || !int_el(e->element[1], &hi) ||
        lo < 0 || hi >= S6_REDIS_SLOTS || lo > hi)
        return false;
    const redisReply *m = e->element[2];
    if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
        m->element[0]->type != REDIS_REPLY_STRING ||
        !int_el(m->element[1], &port))
        return false;
    /* An empty host means "the node you asked". */
    const char *h = m->element[0]->len ? m->element[0]->str : asked->host;
    size_t hl = m->element[0]->len ? m->element[0]->len : strlen(asked->host);
    cnode *n = s6_cluster_node_get(cl, h, hl, (int)port);
    if (!n)
        return false;
    for (long long s = lo; s <= hi; s++)
        cl->map[s] = n;
    return true;
}

static void on_map_timer(uv_timer_t *t);

static void refresh_later(s6_cluster *cl, uint64_t ms)
{
    if (!cl->closed)
        uv_timer_start(&cl->map_timer, on_map_timer, ms, 0);
}

static void on_slots(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    cnode *asked = ud;
    s6_cluster *cl = asked->cl;
    bool ok = code == 0 && rep && rep->type == REDIS_REPLY_ARRAY;

    (void)r;
    cl->refreshing = false;
    if (cl->closed)
        return;
    size_t covered = 0;
    if (ok) {
        memset(cl->map, 0, S6_REDIS_SLOTS * sizeof *cl->map);
        for (size_t i = 0; ok && i < rep->elements; i++)
            ok = map_range(cl, asked, rep->element[i]);
        for (size_t s = 0; s < S6_REDIS_SLOTS; s++)
            covered += cl->map[s] != NULL;
    }
    cl->last_refresh_ms = uv_now(cl->loop);
    if (!ok || covered < S6_REDIS_SLOTS) {
        /* A partial map still routes what it covers; ask another node. */
        cl->have_map = cl->have_map || covered > 0;
        cl->refresh_from = asked->next;
        uint64_t wait = REFRESH_MIN_MS << (cl->refresh_fails < 4 ? cl->refresh_fails : 4);
        cl->refresh_fails++;
        refresh_later(cl, wait < REFRESH_RETRY_MAX_MS ? wait : REFRESH_RETRY_MAX_MS);
    } else {
        cl->have_map = true;
        cl->refresh_fails = 0;
        cl->st.refreshes++;
        if (cl->refresh_due)
            refresh_later(cl, REFRESH_MIN_MS);
    }
    s6_cluster_update_state(cl);
    s6_cluster_pump(cl);
}

static void refresh_now(s6_cluster *cl)
{
    cnode *start = cl->refresh_from ? cl->refresh_from : cl->nodes;
    cnode *n = start;
    const char *argv[] = { "CLUSTER", "SLOTS" };
    const size_t lens[] = { 7, 5 };

    cl->refresh_due = false;
    while (n) {
        if (s6_redis_get_state(n->r) == S6_REDIS_UP &&
            s6_redis_cmd(n->r, on_slots, n, 2, argv, lens) == 0) {
            cl->refreshing = true;
            cl->refresh_from = n->next;
            return;
        }
        n = n->next ? n->next : cl->nodes;
        if (n == start)
            break;
    }
    /* No node connected yet: a node coming up asks again. */
    cl->refresh_due = true;
}

static void on_map_timer(uv_timer_t *t)
{
    s6_cluster *cl = t->data;
    if (!cl->closed && !cl->refreshing)
        refresh_now(cl);
}

void s6_cluster_refresh(s6_cluster *cl)
{
    if (cl->closed)
        return;
    if (cl->refreshing) {
        cl->refresh_due = true;
        return;
    }
    uint64_t now = uv_now(cl->loop), next = cl->last_refresh_ms + REFRESH_MIN_MS;
    if (cl->last_refresh_ms && now < next) {
        cl->refresh_due = true;
        if (!uv_is_active((uv_handle_t *)&cl->map_timer))
            refresh_later(cl, next - now);
        return;
    }
    refresh_now(cl);
}
