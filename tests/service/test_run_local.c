/*
 * test_run_local.c — the README's run command, as a newcomer runs it:
 * examples/run-local.sh starts a private redis-server and the service in
 * paper mode with the price replay and the demo positions; stops step up
 * and a take-profit fires; /health, /ready and /positions answer; Ctrl-C
 * (SIGINT) stops everything it started and leaves nothing listening.
 *
 * The script builds into the test's own build folder (S6_BUILD_DIR, so the
 * build is a no-op) and runs a copy of config/s6.json that replays faster
 * and keeps the history file out of the source tree.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "proc.h"

enum { DEMO_MS = 90000 }; /* a minute for the newcomer, plus slack */

static json_t *await_line(proc *p, const char *msg, const char *needle)
{
    return await_log_match(p, msg, needle, DEMO_MS);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bool open = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return open;
}

static void write_config(const char *dir, char *path, size_t cap)
{
    char base[512], hist[256];
    snprintf(base, sizeof base, "%s/config/s6.json", getenv("S6_SOURCE_DIR"));
    json_t *cfg = json_load_file(base, 0, NULL);
    assert_non_null(cfg);
    snprintf(hist, sizeof hist, "%s/history.sqlite", dir);
    json_object_set_new(json_object_get(cfg, "history"), "path",
                        json_string(hist));
    json_object_set_new(json_object_get(cfg, "replay"), "speed",
                        json_real(3000));
    snprintf(path, cap, "%s/s6.json", dir);
    assert_int_equal(json_dump_file(cfg, path, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

static void run_local_demo(void **state)
{
    (void)state;
    char dir[] = "/tmp/s6-run-local-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg_path[256], script[512], env_port[32], env_cfg[300];
    write_config(dir, cfg_path, sizeof cfg_path);
    int port = free_port();
    snprintf(env_port, sizeof env_port, "PORT=%d", port);
    snprintf(env_cfg, sizeof env_cfg, "S6_CONFIG=%s", cfg_path);
    snprintf(script, sizeof script, "%s/examples/run-local.sh",
             getenv("S6_SOURCE_DIR"));
    const char *env[] = { env_port, env_cfg, "S6_REDIS_URL", NULL };
    const char *args[] = { script, NULL };
    proc p;
    spawn_prog(&p, "/bin/bash", env, args);

    json_decref(await_line(&p, "start-up done: managing positions", NULL));
    /* The log names the private redis-server's port on the way. */
    const char *at = strstr(p.err.data, "private redis-server on port ");
    assert_non_null(at);
    int redis_port = atoi(at + strlen("private redis-server on port "));
    assert_true(redis_port > 0 && port_open(redis_port));

    json_decref(await_line(&p, "POSITION_OPENED", NULL));
    /* A lock-in step (step 1: breakeven net of fees), then the ladder's
     * take-profit: a plan that reduces, and its fill. */
    json_decref(await_line(&p, "STOP_MOVED", "\\\"step\\\":1"));
    json_decref(await_line(&p, "PLAN", "\\\"reduce\\\":true"));
    json_decref(await_line(&p, "FILL", NULL));

    pump_in_background(&p);
    json_t *doc = NULL;
    assert_int_equal(http_get_json(port, "/health", &doc), 200);
    json_decref(doc);
    assert_int_equal(http_get_json(port, "/ready", &doc), 200);
    json_decref(doc);
    assert_int_equal(http_get_json(port, "/positions", &doc), 200);
    assert_true(json_is_array(json_object_get(doc, "positions")));
    json_decref(doc);
    pump_stop(&p);

    /* Ctrl-C: everything the script started stops. */
    kill(p.pid, SIGINT);
    int st = await_exit(&p);
    assert_true(WIFEXITED(st));
    assert_false(port_open(port));
    assert_false(port_open(redis_port));
    proc_free(&p);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_local_demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
