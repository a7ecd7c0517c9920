/* proc.c — see proc.h. */
#define _GNU_SOURCE /* pipe2 */
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "client.h"


long now_ms(void)
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

void spawn_args(proc *p, const char *const *env, const char *const *args)
{
    char path[4096];
    binary_path(path, sizeof path);
    spawn_prog(p, path, env, args);
}

void spawn_prog(proc *p, const char *path, const char *const *env,
                const char *const *args)
{
    int out[2], err[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    memset(p, 0, sizeof *p);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        /* A test that fails mid-way never reaches its kill(): the child
         * goes with it instead of serving on until someone notices. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        dup2(err[1], 2);
        /* An ignored SIGPIPE survives exec: the test's own SIG_IGN would
         * hide a service that dies of it where a shell starts it. */
        signal(SIGPIPE, SIG_DFL);
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
        const char *argv[16] = { path };
        for (int i = 0; args && args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    p->out_fd = out[0];
    p->err_fd = err[0];
}

bool pump(proc *p, int ms)
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

static void *pump_loop(void *ud)
{
    proc *p = ud;
    while (atomic_load(&p->pumping) && pump(p, 20))
        ;
    return NULL;
}

void pump_in_background(proc *p)
{
    atomic_store(&p->pumping, true);
    assert_int_equal(pthread_create(&p->pumper, NULL, pump_loop, p), 0);
}

void pump_stop(proc *p)
{
    atomic_store(&p->pumping, false);
    pthread_join(p->pumper, NULL);
}

json_t *await_log(proc *p, const char *msg)
{
    return await_log_match(p, msg, NULL, GUARD_MS);
}

json_t *await_log_match(proc *p, const char *msg, const char *needle,
                        long ms)
{
    long deadline = now_ms() + ms;
    for (;;) {
        char *nl;
        while (p->err.data != NULL &&
               (nl = memchr(p->err.data + p->err_scanned, '\n',
                            p->err.len - p->err_scanned)) != NULL) {
            const char *line = p->err.data + p->err_scanned;
            size_t len = (size_t)(nl - line);
            p->err_scanned = (size_t)(nl - p->err.data) + 1;
            json_t *o = json_loadb(line, len, 0, NULL);
            const char *m = json_string_value(json_object_get(o, "msg"));
            if (m != NULL && strcmp(m, msg) == 0 &&
                (needle == NULL || memmem(line, len, needle,
                                          strlen(needle)) != NULL))
                return o;
            json_decref(o);
        }
        long left = deadline - now_ms();
        if (left <= 0 || !pump(p, (int)left)) {
            size_t n = p->err.len;
            /* cmocka's message is short: the log tail goes to stderr. */
            fprintf(stderr, "%s\n", p->err.data ? p->err.data +
                    (n > 12000 ? n - 12000 : 0) : "");
            fail_msg("no \"%s\" log line%s%s", msg,
                     needle ? " containing " : "", needle ? needle : "");
        }
    }
}

int await_exit(proc *p)
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

void proc_free(proc *p)
{
    s6_buf_free(&p->out);
    s6_buf_free(&p->err);
}

int every_line_json(const s6_buf *b)
{
    int bad;
    int n = tc_json_lines(b->data, &bad);
    assert_int_equal(bad, 0);
    return n;
}

int free_port(void)
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

long http_get(int port, const char *path, s6_buf *body)
{
    char url[256];
    long code = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)GUARD_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    s6_buf_append(body, "", 1); /* NUL-terminate for the caller */
    body->len--;
    return code;
}

long http_call(int port, const char *method, const char *path,
               const char *token, const char *body, s6_buf *out)
{
    char url[256], auth[512];
    long code = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)GUARD_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    s6_buf_append(out, "", 1);
    out->len--;
    return code;
}

long http_get_json(int port, const char *path, json_t **doc)
{
    s6_buf body = { 0 };
    long code = http_get(port, path, &body);
    *doc = body.len ? json_loads(body.data, 0, NULL) : NULL;
    s6_buf_free(&body);
    return code;
}

void spawn(proc *p, const char *const *env, const char *arg)
{
    const char *args[] = { arg, NULL };
    spawn_args(p, env, args);
}
