/*
 * cluster.h — S6's own thin Redis Cluster layer (docs/redis.md, "Redis
 * Cluster").
 *
 * s6_redis_open() with a URL `redis+cluster://host:port[,host:port...][/]`
 * returns an s6_redis that speaks to a cluster behind the same API and the
 * same contract as the single-node client:
 *
 *   - the slot map comes from CLUSTER SLOTS (asked of any reachable node,
 *     starting from the seeds), one single-node s6_redis per node;
 *   - each command goes to the master of its key's slot (slot.h); MOVED
 *     updates the map, asks for a refresh and sends the command again; ASK
 *     sends ASKING and then the command, once, to the node named;
 *     TRYAGAIN and CLUSTERDOWN are sent again with a backoff; a node not
 *     connected holds the command (and refreshes the map) until it can be
 *     sent or its deadline passes.  Only answers that prove the command was
 *     not executed are retried: a timeout or a dropped connection reaches
 *     the caller, as on one node;
 *   - callbacks run in issue order, across nodes, so "a reply means every
 *     earlier reply is in" still holds (the state edge's barrier relies on
 *     it), and commands of one slot reach Redis in issue order even while
 *     some of them are being redirected;
 *   - MULTI/EXEC/DISCARD and commands whose keys lie in several slots are
 *     refused (S6_EINVAL): a cluster cannot run them.
 *
 * Blocking reads get their own s6_redis as on one node, hence node
 * connections of their own.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "redis/redis.h"

typedef struct s6_redis_cluster_stats {
    uint64_t moved, ask, tryagain, clusterdown; /* answers seen */
    uint64_t refreshes;     /* slot maps loaded */
    uint64_t held;          /* commands that waited (map, node down, order) */
    unsigned nodes;         /* node connections opened */
} s6_redis_cluster_stats;

/* True when r was opened with a redis+cluster:// URL. */
bool s6_redis_is_cluster(const s6_redis *r);
/* 0, or S6_EINVAL when r is not a cluster client. */
int s6_redis_cluster_stats_get(const s6_redis *r, s6_redis_cluster_stats *st);

/* ---- for redis.c: the cluster behind an s6_redis facade ---- */

typedef struct s6_cluster s6_cluster;

bool s6_cluster_url_is(const char *url);
/* Validates the URL (S6_EURL, err says why) and starts loading the
 * slot map.  The cluster calls opts->on_state with `facade` and frees
 * `facade` (with free()) after s6_cluster_close, once its handles closed. */
int s6_cluster_open(uv_loop_t *loop, const char *url, const s6_redis_opts *opts,
                    s6_redis *facade, s6_cluster **out, char *err,
                    size_t errlen);
void s6_cluster_close(s6_cluster *cl);
s6_redis_state s6_cluster_get_state(const s6_cluster *cl);
size_t s6_cluster_in_flight(const s6_cluster *cl);
int s6_cluster_cmd(s6_cluster *cl, uint32_t extra_ms, s6_redis_reply_cb cb,
                   void *ud, int argc, const char *const *argv,
                   const size_t *argvlen);
/* The same with the slot given (a keyless command for one node). */
int s6_cluster_cmd_slot(s6_cluster *cl, int slot, uint32_t extra_ms,
                        s6_redis_reply_cb cb, void *ud, int argc,
                        const char *const *argv, const size_t *argvlen);
void s6_cluster_get_stats(const s6_cluster *cl, s6_redis_cluster_stats *st);
