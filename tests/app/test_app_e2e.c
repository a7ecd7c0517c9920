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
#include "util/buf.h"

/* Generous: a sanitizer build starts slowly.  Only ever a failure guard. */
enum { GUARD_MS = 20000 };

typedef struct proc {
    pid_t pid;
    int out_fd, err_fd;
    s6_buf out, err;
    size_t err_scanned; /* bytes of err already split into lines */
} proc;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void binary_path(char *out, size_t cap)
{
    const char *dir = getenv("S6_BUILD_DIR");
    if (dir == NULL)
        fail_msg("S6_BUILD_DIR is not set; run this test through ctest");
    snprintf(out, cap, "%s/s6-position", dir);
}

/* env: "NAME=value" to set, "NAME" alone to unset; NULL-terminated. */
static void spawn(proc *p, const char *const *env, const char *arg)
{
    char path[4096];
    binary_path(path, sizeof path);
    int out[2], err[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    memset(p, 0, sizeof *p);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        unsetenv("PORT");
        unsetenv("S6_LOG_LEVEL");
        for (; env && *env; env++) {
            const char *eq = strchr(*env, '=');
            char name[64];
            snprintf(name, sizeof name, "%.*s",
                     (int)(eq ? eq - *env : (long)strlen(*env)), *env);
            if (eq)
                setenv(name, eq + 1, 1);
        }
        execl(path, path, arg, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    p->out_fd = out[0];
    p->err_fd = err[0];
}

/* Reads whatever either pipe has within ms; false once both are at EOF. */
static bool pump(proc *p, int ms)
{
    struct pollfd fds[2] = { { p->out_fd, POLLIN, 0 }, { p->err_fd, POLLIN, 0 } };
    s6_buf *bufs[2] = { &p->out, &p->err };
    if (p->out_fd < 0 && p->err_fd < 0)
        return false;
    if (poll(fds, 2, ms) <= 0)
        return true;
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
            continue;
        char b[4096];
        ssize_t n = read(fds[i].fd, b, sizeof b);
        if (n > 0) {
            s6_buf_append(bufs[i], b, (size_t)n);
        } else {
            close(fds[i].fd);
            *(i ? &p->err_fd : &p->out_fd) = -1;
        }
    }
    return true;
}

/* Waits for a stderr line whose msg is `msg`; returns it parsed. */
static json_t *await_log(proc *p, const char *msg)
{
    long deadline = now_ms() + GUARD_MS;
    for (;;) {
        char *nl;
        while (p->err.data != NULL &&
               (nl = memchr(p->err.data + p->err_scanned, '\n',
                            p->err.len - p->err_scanned)) != NULL) {
            const char *line = p->err.data + p->err_scanned;
            p->err_scanned = (size_t)(nl - p->err.data) + 1;
            json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
            const char *m = json_string_value(json_object_get(o, "msg"));
            if (m != NULL && strcmp(m, msg) == 0)
                return o;
            json_decref(o);
        }
        long left = deadline - now_ms();
        if (left <= 0 || !pump(p, (int)left))
            fail_msg("no \"%s\" log line; stderr so far:\n%s", msg,
                     p->err.data ? p->err.data : "");
    }
}

/* Reads both pipes to EOF, then reaps; returns the wait status. */
static int await_exit(proc *p)
{
    long deadline = now_ms() + GUARD_MS;
    while (now_ms() < deadline && pump(p, (int)(deadline - now_ms())))
        ;
    if (p->out_fd >= 0 || p->err_fd >= 0) {
        kill(p->pid, SIGKILL);
        fail_msg("s6-position did not exit; stderr:\n%s",
                 p->err.data ? p->err.data : "");
    }
    int status;
    assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
    return status;
}

static void proc_free(proc *p)
{
    s6_buf_free(&p->out);
    s6_buf_free(&p->err);
}

/* Every stderr line is a JSON log line; returns how many there are. */
static int every_line_json(const s6_buf *b)
{
    int bad;
    int n = tc_json_lines(b->data, &bad);
    assert_int_equal(bad, 0);
    return n;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static size_t collect(char *d, size_t size, size_t n, void *ud)
{
    s6_buf_append(ud, d, size * n);
    return size * n;
}

static long get_health(int port, json_t **doc)
{
    char url[64];
    s6_buf body = { 0 };
    long code = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", port);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)GUARD_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    *doc = body.data ? json_loads(body.data, 0, NULL) : NULL;
    s6_buf_free(&body);
    return code;
}

static void serves_then_stops_on_signal(void **state)
{
    (void)state;
    static const int signals[] = { SIGTERM, SIGINT };
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++) {
        int port = free_port();
        char env_port[32];
        snprintf(env_port, sizeof env_port, "PORT=%d", port);
        const char *env[] = { env_port, NULL };
        proc p;
        spawn(&p, env, NULL);
        json_t *ready = await_log(&p, "listening");
        assert_int_equal(json_integer_value(json_object_get(ready, "port")), port);
        assert_string_equal(json_string_value(json_object_get(ready, "level")),
                            "info");
        json_decref(ready);

        json_t *doc;
        assert_int_equal(get_health(port, &doc), 200);
        assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
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
    char env_port[32];
    snprintf(env_port, sizeof env_port, "PORT=%d", ntohs(sa.sin_port));
    const char *env[] = { env_port, NULL };
    proc p;
    spawn(&p, env, NULL);
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

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_then_stops_on_signal),
        cmocka_unit_test(bad_settings_exit_2),
        cmocka_unit_test(port_in_use_exits_1),
        cmocka_unit_test(help_and_unknown_command),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
