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
#include "app/rules_svc.h"
#include "config/config.h"
#include "http/http.h"
#include "metrics/metrics.h"
#include "util/log.h"

#define S6_APP_SERVICE "s6-position"
#define S6_APP_DEFAULT_PORT 8086

typedef struct s6_app s6_app;
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
    uv_signal_t signals[2];
    unsigned n_signals;
    uint64_t started_ms; /* uv_now() at start, for uptime */
    bool stopping;
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
/* SIGINT and SIGTERM start a graceful stop; a second one cuts it short. */
int s6_app_handle_signals(s6_app *app);
/* Graceful: finish in-flight requests, close everything, then cb (may be
 * NULL) from the loop; the loop then runs out of work and returns. */
void s6_app_stop(s6_app *app, s6_app_stopped_cb cb, void *ud);
/* After the loop has returned. */
void s6_app_free(s6_app *app);
