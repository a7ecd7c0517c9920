/*
 * bus_fixture.h — what the bus suites share: a loop, a real redis-server,
 * a command client, and waits that run the loop until a condition holds
 * (bounded by a guard timer; never a sleep).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "redis/redis.h"
#include "redis_cluster.h"
#include "redis_server.h"

struct redisReply;

typedef struct bus_fx {
    uv_loop_t loop;
    s6test_redis srv;
    s6_redis *cmd;
} bus_fx;

/* With S6_TEST_REDIS_CLUSTER=1 in the environment every suite runs on a
 * real 6-node Redis Cluster (one per process, emptied before each test;
 * f->srv.url is then its redis+cluster:// URL and f->srv has no process:
 * tests that stop the server skip). */
bool bus_fx_on_cluster(void);
s6test_cluster *bus_fx_cluster(void);

/* Loop, server and an UP command client; 0 or -1 (printed). */
int bus_fx_setup(bus_fx *f);
/* Closes the client, drains the loop (fails if handles are left), removes
 * the server. */
int bus_fx_teardown(bus_fx *f);

/* The same as cmocka group-less setup/teardown: *state is a bus_fx. */
int bus_fx_setup_state(void **state);
int bus_fx_teardown_state(void **state);

/* Runs the loop until cond(arg) or guard_ms; returns cond(arg). */
bool bus_run_until(bus_fx *f, bool (*cond)(void *), void *arg,
                   uint64_t guard_ms);
bool bus_run_flag(bus_fx *f, const bool *flag, uint64_t guard_ms);

/* A synchronous command for the test's own checks: the reply copied into
 * a malloc'd hiredis-like tree is overkill, so the caller gets what it
 * needs: an integer, a string, or the element count. */
typedef struct bus_reply {
    int code;
    int type;            /* REDIS_REPLY_* */
    long long integer;
    char str[16384];
    size_t elements;
    /* flat arrays of strings (HGETALL, SMEMBERS, ...) */
    char items[64][128];
    size_t n_items;
} bus_reply;

/* Runs the command to its reply: 0, or -1 when it failed or timed out. */
int bus_cmd(bus_fx *f, bus_reply *out, int argc, const char *const *argv);
/* printf-free helper: argv on the fly, NULL-terminated. */
int bus_cmdv(bus_fx *f, bus_reply *out, ...);
/* A field of a flat HGETALL reply, or NULL. */
const char *bus_field(const bus_reply *r, const char *name);
