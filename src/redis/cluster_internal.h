/*
 * cluster_internal.h — the cluster layer's insides, shared by cluster.c
 * (commands: routing, redirects, ordered delivery) and cluster_map.c
 * (nodes, the URL, the slot map).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "redis/cluster.h"
#include "redis/slot.h"

struct redisReply;

typedef struct cnode {
    struct cnode *next;
    s6_cluster *cl;
    char host[256];
    int port;
    char name[300]; /* "<client name> host:port", for the node's log lines */
    s6_redis *r;
    bool listed;    /* in cl->nodes: its state changes count from then on */
} cnode;

typedef struct ccmd ccmd;

struct s6_cluster {
    uv_loop_t *loop;
    s6_redis *facade;
    s6_redis_opts opts;
    s6_redis_state state;
    bool closed;
    int handles_open;
    cnode *nodes;            /* every node ever named; the seeds first */
    cnode **map;             /* [S6_REDIS_SLOTS]: the slot's master */
    bool have_map;
    /* per slot: commands sent and not answered, all on at[slot]; commands
     * held for it (a later one must not overtake them) */
    uint32_t *inflight, *waiting, *blocked_gen;
    cnode **at;
    uint32_t gen;
    ccmd *head, *tail;       /* every command not yet delivered, issue order */
    size_t pending;
    ccmd *whead, *wtail;     /* held commands, issue order */
    uint64_t seq;
    uv_timer_t wait_timer;   /* retries held commands */
    uv_timer_t map_timer;    /* the next slot-map refresh */
    bool refreshing, refresh_due;
    uint32_t refresh_fails;
    uint64_t last_refresh_ms;
    cnode *refresh_from;     /* the next node to ask */
    s6_redis_cluster_stats st;
};

/* cluster_map.c */
cnode *s6_cluster_node_get(s6_cluster *cl, const char *host, size_t hostlen,
                           int port);
/* Asks for a new slot map soon (coalesced, at most one in flight). */
void s6_cluster_refresh(s6_cluster *cl);
/* Recomputes UP/DOWN from the map and the node connections. */
void s6_cluster_update_state(s6_cluster *cl);
void s6_cluster_set_state(s6_cluster *cl, s6_redis_state st, int code);
int s6_cluster_parse_seeds(s6_cluster *cl, const char *url, char *err,
                           size_t errlen);
/* A node for a command with no key: the first one connected. */
cnode *s6_cluster_any_node(s6_cluster *cl);

/* cluster.c */
void s6_cluster_pump(s6_cluster *cl);
