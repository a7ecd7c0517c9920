/*
 * Run from the source root:
 *   cmake --build build --target s6-bench-http-server
 *   tests/bench/http/run.sh build 10     (starts this server and nginx, runs wrk)
 *
 * s6-bench-http-server — the service's HTTP side as the benchmark meets
 * it: s6_app (every route, the access log, the request metrics) on one
 * loop, with a real engine on memory edges (tests/app/app_engine.h: the
 * shipped config, the repo's Lua rules, a router that settles at once)
 * holding one BTCUSDT position, so POST /positions/manage with dry_run
 * runs the whole manual-action path: body parser, engine, guard, plan.
 *
 *   S6_CONFIG=config/s6.json S6_AUTH_TOKEN=t S6_SOURCE_DIR=. \
 *       s6-bench-http-server [port]
 *
 * Prints "ready <port> <position id>" on stdout once it serves; SIGINT or
 * SIGTERM stop it.  Logs (JSON lines) go to stderr at S6_LOG_LEVEL
 * (default warn: no access line per request; info writes them).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app_engine.h"

typedef struct bench {
    uv_loop_t loop;
    s6_log log;
    s6_config_live config;
    s6_app app;
    app_engine ae;
} bench;

static int start(bench *b, int port)
{
    s6_log_level level = S6_LOG_WARN;
    const char *lv = getenv("S6_LOG_LEVEL");
    if (lv != NULL && s6_log_level_parse(lv, &level) != 0) {
        fprintf(stderr, "S6_LOG_LEVEL: not a level: %s\n", lv);
        return -1;
    }
    s6_log_init(&b->log, level);
    const char *path = getenv("S6_CONFIG");
    s6_config_error err;
    if (path == NULL ||
        s6_config_live_init(&b->config, path, true, &b->log, &err) != 0) {
        fprintf(stderr, "config: %s\n", path ? err.message : "set S6_CONFIG");
        return -1;
    }
    s6_app_config cfg;
    s6_app_config_default(&cfg);
    s6_app_config_from(&cfg, s6_config_live_get(&b->config));
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.config = &b->config;
    if (s6_app_start(&b->app, &b->loop, &b->log, &cfg) != 0 ||
        s6_app_handle_signals(&b->app) != 0 ||
        ae_start(&b->ae, &b->app, &b->log, s6_config_live_get(&b->config)) != 0 ||
        ae_seed_long(&b->ae, 0.01, 60000, 58000, 60500) != 0)
        return -1;
    printf("ready %d %s\n", s6_http_port(b->app.http), b->ae.pos_id);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int port = 0;
    if (argc > 1 && s6_app_parse_port(argv[1], &port) != 0) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    bench *b = calloc(1, sizeof *b);
    uv_loop_init(&b->loop);
    int rc = start(b, port);
    if (rc != 0)
        s6_app_stop(&b->app, NULL, NULL);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    if (b->ae.e != NULL)
        ae_free(&b->ae);
    s6_app_free(&b->app);
    uv_loop_close(&b->loop);
    s6_config_live_free(&b->config);
    free(b);
    return rc == 0 ? 0 : 1;
}
