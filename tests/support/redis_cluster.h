/*
 * redis_cluster.h — a real Redis Cluster for tests: 3 masters and 3
 * replicas (redis_server.h nodes with --cluster-enabled yes on free
 * loopback ports, each in its own data dir), joined by
 * `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`.
 *
 *   s6test_cluster c;
 *   if (s6test_cluster_start(&c) != 0) fail();  // every node says state ok
 *   ... connect to c.url (redis+cluster://...) ...
 *   s6test_cluster_migrate_slot(&c, slot, to);  // SETSLOT + MIGRATE
 *   s6test_cluster_failover(&c, master);        // CLUSTER FAILOVER on its replica
 *   s6test_cluster_destroy(&c);
 *
 * Readiness is what the nodes report (CLUSTER INFO cluster_state:ok and the
 * same slot owners everywhere), polled every 20 ms up to a deadline.
 * Failures print their reason to stderr and return -1.
 */
#pragma once

#include <hiredis/hiredis.h>
#include <stdarg.h>

#include "redis_server.h"

enum { S6TEST_CLUSTER_NODES = 6 };

typedef struct s6test_cluster {
    s6test_redis node[S6TEST_CLUSTER_NODES];
    int route;       /* the node the last routed command went to */
    char url[120];   /* redis+cluster://127.0.0.1:<p0>,127.0.0.1:<p1>/ */
} s6test_cluster;

int s6test_cluster_start(s6test_cluster *c);
void s6test_cluster_destroy(s6test_cluster *c);

/* One command to node i (hiredis' blocking client), printf-style as
 * hiredis' redisCommand; the reply as text in out (status, string, integer,
 * error "ERR ..."); -1 when the node did not answer. */
int s6test_cluster_cmd(s6test_cluster *c, int i, char *out, size_t outlen,
                       const char *fmt, ...);
/* The index of the node serving slot as master, by asking a live node. */
int s6test_cluster_master_of(s6test_cluster *c, int slot);
/* ports[slot]: the port of the slot's master (16384 of them). */
int s6test_cluster_slot_ports(s6test_cluster *c, int *ports);
/* A replica of master m (-1 none). */
int s6test_cluster_replica_of(s6test_cluster *c, int m);
/* Moves one slot, keys and all, to master `to`: IMPORTING on `to`,
 * MIGRATING on the owner, MIGRATE key by key, SETSLOT NODE everywhere.
 * `between` (may be NULL) runs after the first key moved and before the
 * slot is handed over: the window where clients get ASK. */
int s6test_cluster_migrate_slot(s6test_cluster *c, int slot, int to,
                                void (*between)(void *ud), void *ud);
/* CLUSTER FAILOVER on a replica of master m; returns once that replica is
 * master and every live node agrees. */
int s6test_cluster_failover(s6test_cluster *c, int m);
/* Returns once every replica of master m has its whole stream (the
 * offsets in INFO replication agree). */
int s6test_cluster_await_replicated(s6test_cluster *c, int m);
/* Kills master m; returns once a replica took over its slots. */
int s6test_cluster_kill_master(s6test_cluster *c, int m);
/* A command routed like a cluster client does (blocking): MOVED and ASK
 * followed, CLUSTERDOWN/TRYAGAIN and dead nodes retried for up to 20 s.
 * The reply (the caller frees it), or NULL. */
redisReply *s6test_cluster_command(s6test_cluster *c, const char *fmt, ...);
redisReply *s6test_cluster_vcommand(s6test_cluster *c, const char *fmt,
                                    va_list ap);
/* Keys held by the masters together. */
long long s6test_cluster_dbsize(s6test_cluster *c);
/* Waits until every live node reports cluster_state:ok and agrees on the
 * owner of every slot. */
int s6test_cluster_await_ok(s6test_cluster *c, int deadline_ms);
