/*
 * s6-position — the S6 position manager.
 *
 *   s6-position [serve]            run the service (PORT, S6_LOG_LEVEL)
 *   s6-position rules check [DIR]  compile and check every rule
 *   s6-position --help
 *
 * Subcommands are rows of a table so `rules check`, `replay` and the
 * like slot in without touching the dispatch.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "app/app.h"
#include "app/service.h"
#include "replay/replay_cli.h"
#include "rules/worker.h"

#ifndef S6_VERSION
#define S6_VERSION "0.0.0"
#endif

/* The exit statuses a supervisor reads (docs/operations.md): 0 a clean
 * stop on a signal; 1 a failure a restart may cure (Redis, the lease, the
 * port, a rule that failed at start-up); 2 a usage or configuration error
 * no restart cures (examples/s6-position.service does not restart it). */
enum { EXIT_USAGE = 2 };

typedef int (*s6_cmd_fn)(int argc, char **argv);

static int cmd_serve(int argc, char **argv);
static int cmd_help(int argc, char **argv);
static int cmd_rules(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct s6_cmd {
    const char *name;
    s6_cmd_fn fn;
    const char *summary;
} commands[] = {
    { "serve", cmd_serve, "run the service (the default command)" },
    { "rules", cmd_rules, "rules check [DIR]: compile and check every rule "
                          "(default DIR: rules)" },
    { "replay", s6_replay_main, "replay PRICES... --positions FILE: the engine "
                                "and rules over recorded prices" },
    { "help", cmd_help, "show this help" },
    { "--version", cmd_version, "print the version and exit" },
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: s6-position [COMMAND]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nEnvironment:\n"
            "  PORT          HTTP port, 1..65535 (default %d)\n"
            "  S6_LOG_LEVEL  debug, info, warn, error or off (default info)\n"
            "  S6_CONFIG     the configuration file (default config/s6.json)\n"
            "  S6_RULES_DIR  the rule scripts (default rules)\n"
            "  S6_LUA_DIR    the trusted Lua modules (default: the source tree's lua/)\n"
            "\nLogs are JSON lines on stderr.  SIGINT or SIGTERM stops the "
            "service\ngracefully; a second signal stops it at once.\n",
            S6_APP_DEFAULT_PORT);
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("s6-position %s\n", S6_VERSION);
    return 0;
}

/* s6-position rules check [DIR]: what a quant runs before saving a rule
 * into the live folder; exit 0 only if the service would load them all. */
static int cmd_rules(int argc, char **argv)
{
    /* hidden: the service's own rule workers (docs/rule-worker.md) */
    if (argc >= 2 && strcmp(argv[1], "worker") == 0)
        return s6_worker_main(argc > 2 ? argv[2] : NULL);
    if (argc < 2 || argc > 3 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "Usage: s6-position rules check [DIR]\n");
        return EXIT_USAGE;
    }
    s6_rules_svc_config cfg;
    s6_rules_svc_config_default(&cfg);
    cfg.worker_exe = s6_worker_default_exe();
    if (argc == 3)
        cfg.rules_dir = argv[2];
    return s6_rules_check(&cfg, stdout);
}

/* Environment problems are usage errors: say which variable and why. */
static int read_env(s6_log *log, s6_app_config *cfg)
{
    const char *level = getenv("S6_LOG_LEVEL");
    if (level != NULL && s6_log_level_parse(level, &log->level) < 0) {
        s6_log_error(log, "app",
                     "invalid S6_LOG_LEVEL: expected debug, info, warn, "
                     "error or off", S6_LOG_STR("value", level));
        return -1;
    }
    const char *port = getenv("PORT");
    if (port != NULL && s6_app_parse_port(port, &cfg->port) < 0) {
        s6_log_error(log, "app",
                     "invalid PORT: expected an integer from 1 to 65535",
                     S6_LOG_STR("value", port));
        return -1;
    }
    return 0;
}

/* The app stopped serving (a signal, or a fatal error of the service):
 * the engine stops acting and flushes its state. */
static void on_app_stopped(s6_app *app, void *ud)
{
    (void)app;
    s6_service_stop(ud);
}

static void on_config(s6_config_live *live, const s6_config *old,
                      const s6_config *cur, void *ud)
{
    (void)live;
    (void)old;
    s6_service_reconfigure(ud, cur);
}

static int cmd_serve(int argc, char **argv)
{
    s6_log log;
    s6_log_init(&log, S6_LOG_INFO);
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
            return cmd_help(argc, argv);
        fprintf(stderr, "s6-position serve: unexpected argument '%s'\n",
                argv[1]);
        return EXIT_USAGE;
    }
    s6_app_config cfg;
    s6_app_config_default(&cfg);
    cfg.with_rules = true;
    if (read_env(&log, &cfg) < 0)
        return EXIT_USAGE;
    /* The one configuration file, its environment overrides on top; a bad
     * one stops the start with the key and the reason. */
    const char *path = getenv("S6_CONFIG");
    s6_config_live config;
    s6_config_error cerr;
    if (s6_config_live_init(&config, path && path[0] ? path : "config/s6.json",
                            true, &log, &cerr) != 0) {
        s6_log_error(&log, "config", "invalid configuration",
                     S6_LOG_STR("error", cerr.message));
        return EXIT_USAGE;
    }
    const s6_config *c = s6_config_live_get(&config);
    log.level = (s6_log_level)c->log.level;
    s6_app_config_from(&cfg, c);
    /* the service process never runs rule code */
    cfg.rules.worker_exe = s6_worker_default_exe();
    cfg.config = &config;

    /* A peer that resets while an answer is being written makes the next
     * write fail; libuv reports EPIPE on that connection only if the
     * signal does not end the process first. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc < 0) {
        s6_log_error(&log, "app", "cannot create the event loop",
                     S6_LOG_STR("error", uv_strerror(rc)));
        return EXIT_FAILURE;
    }
    s6_app app;
    s6_service *svc = NULL;
    rc = s6_app_start(&app, &loop, &log, &cfg);
    if (rc == 0)
        rc = s6_service_start(&app, c, &svc);
    if (rc == 0) {
        app.stopped_cb = on_app_stopped;
        app.stopped_ud = svc;
        rc = s6_config_live_subscribe(&config, on_config, svc);
    }
    if (rc == 0)
        rc = s6_app_handle_signals(&app);
    if (rc < 0) {
        s6_app_stop(&app, NULL, NULL);
        s6_service_stop(svc);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    s6_service_free(svc);
    s6_app_free(&app);
    s6_config_live_free(&config);
    if (uv_loop_close(&loop) != 0)
        s6_log_warn(&log, "app", "event loop closed with handles still open");
    return rc < 0 || app.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmd_serve(argc, argv);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "s6-position: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
