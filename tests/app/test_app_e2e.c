/*
 * The built s6-position binary as an operator runs it: started with PORT,
 * ready once it logs "listening", serving /health, stopping with exit
 * status 0 on SIGTERM or SIGINT, and refusing bad settings with status 2.
 * The binary is found through S6_BUILD_DIR, which ctest sets.
 */
#define _GNU_SOURCE /* pipe2 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "proc.h"
#include "util/buf.h"

/* The binary with PORT=port and nothing else set. */
static void spawn_on(proc *p, int port)
{
    char env_port[32];
    snprintf(env_port, sizeof env_port, "PORT=%d", port);
    const char *env[] = { env_port, NULL };
    spawn(p, env, NULL);
}

/* Without Redis or S4 beside it the service may well be degraded; what
 * must hold is that it says so exactly when a check that reports "ok"
 * reports false. */
static void assert_health_consistent(json_t *doc)
{
    bool all_ok = true;
    const char *name;
    json_t *check;
    json_object_foreach(json_object_get(doc, "checks"), name, check) {
        json_t *ok = json_object_get(check, "ok");
        /* an engine not attached yet ("running": false) does not count */
        bool counted = !json_is_false(json_object_get(check, "running"));
        if (counted && ok != NULL && !json_is_true(ok))
            all_ok = false;
    }
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        all_ok ? "ok" : "degraded");
}

static void serves_then_stops_on_signal(void **state)
{
    (void)state;
    static const int signals[] = { SIGTERM, SIGINT };
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++) {
        int port = free_port();
        proc p;
        spawn_on(&p, port);
        json_t *ready = await_log(&p, "listening");
        assert_int_equal(json_integer_value(json_object_get(ready, "port")), port);
        assert_string_equal(json_string_value(json_object_get(ready, "level")),
                            "info");
        json_decref(ready);

        json_t *doc;
        assert_int_equal(http_get_json(port, "/health", &doc), 200);
        assert_health_consistent(doc);
        assert_string_equal(json_string_value(json_object_get(doc, "service")),
                            "s6-position");
        json_decref(doc);

        assert_int_equal(kill(p.pid, signals[i]), 0);
        json_decref(await_log(&p, "stopped"));
        int status = await_exit(&p);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_true(every_line_json(&p.err) >= 3);
        proc_free(&p);
    }
}

/* Each refusal: exit status 2 and a JSON error line naming the variable
 * and echoing the value. */
static void bad_settings_exit_2(void **state)
{
    (void)state;
    static const struct {
        const char *env, *var, *value;
    } cases[] = {
        { "PORT=abc", "PORT", "abc" },   { "PORT=0", "PORT", "0" },
        { "PORT=65536", "PORT", "65536" }, { "PORT=", "PORT", "" },
        { "PORT=-1", "PORT", "-1" },     { "PORT=80x", "PORT", "80x" },
        { "PORT= 80", "PORT", " 80" },
        { "S6_LOG_LEVEL=loud", "S6_LOG_LEVEL", "loud" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *env[] = { cases[i].env, NULL };
        proc p;
        spawn(&p, env, NULL);
        int status = await_exit(&p);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 2);
        assert_int_equal(every_line_json(&p.err), 1);
        json_t *o = json_loads(p.err.data, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
        assert_non_null(strstr(json_string_value(json_object_get(o, "msg")),
                               cases[i].var));
        assert_string_equal(json_string_value(json_object_get(o, "value")),
                            cases[i].value);
        json_decref(o);
        proc_free(&p);
    }
}

static void port_in_use_exits_1(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    proc p;
    spawn_on(&p, ntohs(sa.sin_port));
    json_decref(await_log(&p, "cannot start the HTTP server"));
    int status = await_exit(&p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    close(fd);
    proc_free(&p);
}

static void help_and_unknown_command(void **state)
{
    (void)state;
    static const struct {
        const char *arg;
        int status;
        bool on_stdout;
    } cases[] = {
        { "--help", 0, true }, { "help", 0, true }, { "-h", 0, true },
        { "bogus", 2, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        proc p;
        spawn(&p, NULL, cases[i].arg);
        int status = await_exit(&p);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), cases[i].status);
        s6_buf *text = cases[i].on_stdout ? &p.out : &p.err;
        assert_non_null(text->data);
        assert_non_null(strstr(text->data, "Usage: s6-position"));
        assert_non_null(strstr(text->data, "serve"));
        assert_non_null(strstr(text->data, "PORT"));
        proc_free(&p);
    }
}

/* A client that pipelines requests and resets the connection while the
 * answers are still being written must cost the server that connection
 * only: the write after the reset fails with EPIPE, which must not end the
 * process with SIGPIPE. */
static void reset_while_answers_pending(int port)
{
    static const char req[] = "GET /health HTTP/1.1\r\nHost: s6\r\n\r\n";
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 1024; /* answers pile up on the server's side */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    /* Never reading: once the server's writes are blocked it stops
     * reading, and our send buffer fills.  Then answers are pending. */
    long deadline = now_ms() + GUARD_MS;
    while (send(fd, req, sizeof req - 1, MSG_DONTWAIT) > 0)
        assert_true(now_ms() < deadline);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    struct linger rst = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
    close(fd);
}

static void survives_clients_that_reset(void **state)
{
    (void)state;
    int port = free_port();
    proc p;
    spawn_on(&p, port);
    json_decref(await_log(&p, "listening"));

    /* thousands of answers, each with its access log line */
    pump_in_background(&p);
    for (int round = 0; round < 3; round++)
        reset_while_answers_pending(port);
    s6_buf body = { 0 };
    long code = http_get(port, "/health", &body);
    pump_stop(&p);
    assert_int_equal(code, 200);
    s6_buf_free(&body);

    assert_int_equal(kill(p.pid, SIGTERM), 0);
    int status = await_exit(&p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    proc_free(&p);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_then_stops_on_signal),
        cmocka_unit_test(bad_settings_exit_2),
        cmocka_unit_test(port_in_use_exits_1),
        cmocka_unit_test(help_and_unknown_command),
        cmocka_unit_test(survives_clients_that_reset),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
