/*
 * redis_server.h — a real redis-server for tests: free loopback port, its
 * own temporary data directory, no persistence unless aof is set before
 * the start (then an append-only file, fsynced on every write, that a
 * restart replays).
 *
 *   s6test_redis srv = { .aof = 0 };
 *   if (s6test_redis_start(&srv) != 0) fail();   // answers PING on return
 *   ... connect to srv.url ...
 *   s6test_redis_stop(&srv);      // killed, stays down (outage tests)
 *   s6test_redis_restart(&srv);   // up again on the same port
 *   s6test_redis_destroy(&srv);   // stopped and its directory removed
 *
 * Readiness is an event, not a guess: redis-server runs with
 * `--supervised systemd` and announces READY=1 on a datagram socket we own
 * (NOTIFY_SOCKET); a pidfd reports an early exit; then one PING confirms.
 * Stopping is SIGKILL + waitpid — the way a crash looks to clients — and
 * the child also gets SIGKILL if the test process dies (PR_SET_PDEATHSIG).
 * DEBUG is enabled for loopback clients (DEBUG SLEEP stalls the server).
 * Failures print their reason to stderr and return -1.
 */
#pragma once

#include <sys/types.h>

typedef struct s6test_redis {
    int port;
    pid_t pid;       /* 0 when stopped */
    char dir[80];    /* data dir, log file redis.log inside */
    char url[128];   /* redis://127.0.0.1:<port>/0 (or a cluster URL) */
    int aof;         /* set before start: appendonly yes */
    int cluster_node_timeout_ms; /* > 0: a cluster node (redis_cluster.h) */
} s6test_redis;

/* A port nothing listens on right now (bound to :0 then released). */
int s6test_free_port(void);

int s6test_redis_start(s6test_redis *srv);
/* The same as a cluster node (--cluster-enabled yes, nodes.conf in its dir,
 * the given cluster-node-timeout). */
int s6test_redis_start_cluster_node(s6test_redis *srv, int node_timeout_ms);
int s6test_redis_stop(s6test_redis *srv);
int s6test_redis_restart(s6test_redis *srv);
void s6test_redis_destroy(s6test_redis *srv);
