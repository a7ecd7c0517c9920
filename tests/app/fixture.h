/*
 * The service in-process on an ephemeral port: its loop runs in a second
 * thread; the test thread talks to it over sockets and through a small
 * command queue (an async handle), so every wait is on an event.
 *
 * Besides the service's own routes the fixture adds:
 *   GET  /defer                     answered only on fx_release()
 *   POST /echo, PUT /echo           JSON echo of the request
 *   GET  /items/{id}, /items/special, /items/{id}/notes/{note}
 *   POST /noted/{id}                notes pos_id=<id>, plan_id=plan-<id>, k3, k4
 */
#pragma once

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

#include "app/app.h"
#include "util/buf.h"

enum { FX_MAX_DEFERRED = 64 };

typedef struct fx fx;

struct fx {
    uv_loop_t loop;
    uv_async_t wake;
    pthread_t thread;
    pthread_mutex_t mu;
    int cmds[32]; /* under mu */
    int ncmds;
    sem_t deferred_sem; /* posted once per /defer handler call */
    sem_t ping_sem;
    s6_log log;
    s6_buf log_lines; /* written by the loop thread; read after the join */
    s6_app app;
    int port;
    bool stopped, joined;
    int loop_close_rc;
    /* loop thread only */
    s6_http_res *deferred[FX_MAX_DEFERRED];
    int ndeferred;
    int released;
    int waiting_seen; /* ndeferred at the last ping; read after ping_sem */
    s6_config_live config; /* with fx_opts.token */
    bool has_config;
    void (*call_fn)(void *ud); /* CMD_CALL, under mu */
    void *call_ud;
    sem_t call_sem;
};

typedef struct fx_opts {
    const s6_http_limits *limits; /* NULL: fx_limits() */
    /* Non-NULL: the service runs on the shipped config (S6_CONFIG) with
     * this bearer token, so mutating routes can be authorised. */
    const char *token;
    /* Runs on the test thread after s6_app_start, before the loop thread
     * starts: where a test plugs an engine or readiness in. */
    int (*before)(fx *f, void *ud);
    void *ud;
} fx_opts;

/* NULL limits: the defaults with max_body 1024 and max_header_bytes 4096. */
int fx_start(fx **out, const s6_http_limits *limits);
int fx_start_opts(fx **out, const fx_opts *o);
/* Runs fn(ud) on the loop thread and waits for it: engine calls from the
 * test thread go through here. */
void fx_call(fx *f, void (*fn)(void *ud), void *ud);
s6_http_limits fx_limits(void);
/* Completes the waiting /defer requests in arrival order, bodies
 * "deferred-1", "deferred-2", ... counted over the fixture's life. */
void fx_release(fx *f);
/* Round trip through the loop; returns how many /defer requests wait. */
int fx_ping(fx *f);
/* Graceful stop, without waiting. */
void fx_stop(fx *f);
/* Waits for the loop to end; returns uv_loop_close()'s result. */
int fx_join(fx *f);
/* Releases, stops, joins; checks every log line is a JSON object. */
int fx_free(fx *f);
