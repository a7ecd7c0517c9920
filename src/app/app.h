/*
 * app.h — the s6-position service: one context struct holding everything
 * the process runs on one libuv loop.  Later subsystems (Redis, rules,
 * engine, config) become members here and register their routes and
 * health checks in app.c.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "app/control.h"
#include "app/manage_keys.h"
#include "rules/service.h"
#include "app/status_hist.h"
#include "bus/shard_holder.h"
#include "config/config.h"
#include "http/http.h"
#include "metrics/metrics.h"
#include "util/log.h"

#define S6_APP_SERVICE "s6-position"
#define S6_APP_DEFAULT_PORT 8086

typedef struct s6_app s6_app;
typedef struct s6_engine s6_engine;
struct s6_treasury;

enum {
    S6_APP_MAX_READY = 8,   /* readiness components */
    S6_APP_MAX_CHECKS = 8,  /* health hooks */
    S6_APP_NAME_MAX = 23    /* bytes of a component or check name */
};

/* A health check the service adds (Redis, the history store, S4): writes
 * one JSON object with at least "ok": true|false and whatever else
 * explains it, and returns that ok. */
typedef bool (*s6_app_check_fn)(void *ud, s6_jw *w);

typedef struct s6_app_check {
    char name[S6_APP_NAME_MAX + 1];
    s6_app_check_fn fn;
    void *ud;
} s6_app_check;

/* The request metrics' series of one (route, method, status): looked up
 * once, then reused (the lookup costs microseconds, the update nothing). */
typedef struct s6_app_req_series {
    const char *route, *method; /* the server's own strings: stable */
    int status;
    s6_counter *count;
    s6_hist *seconds;
} s6_app_req_series;

enum { S6_APP_REQ_SERIES = 64 };

typedef struct s6_app_ready {
    char name[S6_APP_NAME_MAX + 1];
    bool ok;
} s6_app_ready;
/* Sharded instances (docs/operations.md, "Sharded instances"): this
 * instance's shard, and how to find which shard and holder serve a
 * position it does not hold (the service sets locate; NULL: 404 as on
 * one instance). */
typedef struct s6_app_shard {
    uint32_t index, count; /* count 0 or 1: not sharded */
    int (*locate)(void *ud, const char *pos_id, s6_shard_located done,
                  void *cb_ud);
    void *ud;
} s6_app_shard;

typedef void (*s6_app_stopped_cb)(s6_app *app, void *ud);

typedef struct s6_app_config {
    const char *host;
    int port; /* 0 picks a free port (tests) */
    s6_http_limits http;
    bool with_rules;            /* run the rule host (off in HTTP-only tests) */
    s6_rules_svc_config rules;
    s6_config_live *config;     /* the live configuration, or NULL (tests) */
} s6_app_config;

struct s6_app {
    uv_loop_t *loop;
    s6_log *log;
    s6_http_server *http;
    s6_metrics *metrics;
    s6_config_live *config;     /* owned by the caller; NULL in tests */
    s6_rules_svc_config rules_cfg;
    s6_pause pause;             /* the kill switch */
    bool rules_on;
    s6_rules_svc rules;
    /* Set by the service once running; NULL: their routes answer 503
     * unavailable.  s6_app_set_engine also wires the kill switch and the
     * status page's history (the engine's observer). */
    s6_engine *engine;
    struct s6_treasury *treasury;
    s6_app_shard shard;
    /* POST /positions/manage's answers by idempotency key */
    s6_manage_keys manage_keys;
    /* Seconds on the engine's clock, for the ages in /health; NULL: the
     * wall clock. */
    double (*clock)(void *ud);
    void *clock_ud;
    s6_app_ready ready[S6_APP_MAX_READY];
    unsigned n_ready;
    s6_app_check checks[S6_APP_MAX_CHECKS];
    unsigned n_checks;
    s6_app_req_series req_series[S6_APP_REQ_SERIES]; /* direct-mapped */
    s6_buf scratch; /* /health's checks, written before the head that
                       sums them up; reused from request to request */
    uv_signal_t signals[2];
    unsigned n_signals;
    uint64_t started_ms; /* uv_now() at start, for uptime */
    s6_status_hist hist; /* the status page's recent past */
    bool stopping;
    /* A fatal stop (not a signal): the process exits non-zero so that a
     * supervisor restarts it (docs/operations.md "Exit statuses"). */
    bool failed;
    s6_app_stopped_cb stopped_cb;
    void *stopped_ud;
};

void s6_app_config_default(s6_app_config *cfg);
/* The service's settings from a loaded configuration (docs/configuration.md);
 * strings point into c, which must outlive the start. */
void s6_app_config_from(s6_app_config *cfg, const s6_config *c);
/* "1".."65535", digits only.  Returns 0, or -EINVAL. */
int s6_app_parse_port(const char *text, int *port);

/* Creates the server, registers the routes, listens, and logs
 * {"msg":"listening","port":N}.  On failure the error is logged and
 * returned; the caller still calls s6_app_stop and runs the loop. */
int s6_app_start(s6_app *app, uv_loop_t *loop, s6_log *log,
                 const s6_app_config *cfg);
/* The engine the position routes drive (NULL detaches it); the kill
 * switch (app->pause) becomes the engine's. */
void s6_app_set_engine(s6_app *app, s6_engine *engine);
/* Readiness: GET /ready answers 200 only while every component marked so
 * far is ok (and the service is not stopping).  The first call names a
 * component; mark each one false before the loop runs, true once it is
 * (e.g. "redis", "reconciled", "lease").  -EINVAL for a bad name, -ENOSPC
 * beyond S6_APP_MAX_READY components. */
int s6_app_set_ready(s6_app *app, const char *component, bool ok);
bool s6_app_is_ready(const s6_app *app);
/* Adds a check to GET /health under checks.<name>; called at each request.
 * -EINVAL, -EEXIST for a name taken (also the app's own: config, rules,
 * paused, engine), -ENOSPC beyond S6_APP_MAX_CHECKS. */
int s6_app_add_check(s6_app *app, const char *name, s6_app_check_fn fn,
                     void *ud);

/* SIGINT and SIGTERM start a graceful stop; a second one cuts it short. */
int s6_app_handle_signals(s6_app *app);
/* Graceful: finish in-flight requests, close everything, then cb (may be
 * NULL) from the loop; the loop then runs out of work and returns. */
void s6_app_stop(s6_app *app, s6_app_stopped_cb cb, void *ud);
/* After the loop has returned. */
void s6_app_free(s6_app *app);
