#include "fuzz_server.h"

#include "app/app.h"
#include "http/internal.h" /* n_conns: the exchange waits for the server's side */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_service {
    uv_loop_t loop;
    s6_log log;
    s6_config_live config;
    s6_app app;
    struct sockaddr_in addr;
} fuzz_service;

typedef struct fuzz_client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    uv_buf_t out;
    bool closed;
    bool echo;
    bool reset;
    char rbuf[16 * 1024];
} fuzz_client;

static void die(const char *what, int rc)
{
    fprintf(stderr, "fuzz_server: %s: %s\n", what, rc ? uv_strerror(rc) : "");
    abort();
}

/* The shipped configuration plus a token, so mutating routes get past
 * auth with the right header and answer 401 without it. */
static fuzz_service *service(void)
{
    static fuzz_service *svc; /* one service per fuzzing process */
    if (svc != NULL)
        return svc;
    svc = calloc(1, sizeof *svc);
    if (svc == NULL)
        die("out of memory", 0);
    /* A reset connection must surface as an error, not end the process. */
    signal(SIGPIPE, SIG_IGN);
    setenv("S6_AUTH_TOKEN", FUZZ_TOKEN, 1);
    uv_loop_init(&svc->loop);
    s6_log_init(&svc->log, S6_LOG_OFF);
    s6_config_error err;
    if (s6_config_live_init(&svc->config, S6_FUZZ_CONFIG, true, &svc->log,
                            &err) != 0) {
        fprintf(stderr, "fuzz_server: %s\n", err.message);
        abort();
    }
    s6_app_config cfg;
    s6_app_config_default(&cfg);
    s6_app_config_from(&cfg, s6_config_live_get(&svc->config));
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.with_rules = false; /* the HTTP path and the JSON handlers, not Lua */
    cfg.config = &svc->config;
    int rc = s6_app_start(&svc->app, &svc->loop, &svc->log, &cfg);
    if (rc != 0)
        die("s6_app_start", rc);
    uv_ip4_addr("127.0.0.1", s6_http_port(svc->app.http), &svc->addr);
    return svc;
}

static void on_close(uv_handle_t *h)
{
    ((fuzz_client *)h->data)->closed = true;
}

static void finish(fuzz_client *cl)
{
    if (!uv_is_closing((uv_handle_t *)&cl->tcp))
        uv_close((uv_handle_t *)&cl->tcp, on_close);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    fuzz_client *cl = h->data;
    *buf = uv_buf_init(cl->rbuf, sizeof cl->rbuf);
}

/* The answer itself is not checked: the sanitizers judge the server.
 * FUZZ_ECHO=1 shows it, for looking at what a reproducer gets back. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fuzz_client *cl = s->data;
    if (n > 0 && cl->echo)
        fwrite(buf->base, 1, (size_t)n, stderr);
    if (n < 0)
        finish(cl);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    if (status < 0)
        finish(req->handle->data);
}

static void on_write(uv_write_t *req, int status)
{
    fuzz_client *cl = req->handle->data;
    if (cl->reset && status == 0 &&
        uv_tcp_close_reset(&cl->tcp, on_close) == 0)
        return;
    if (status < 0 ||
        uv_shutdown(&cl->sreq, (uv_stream_t *)&cl->tcp, on_shutdown) != 0)
        finish(cl);
}

static void on_connect(uv_connect_t *req, int status)
{
    fuzz_client *cl = req->handle->data;
    if (status < 0 || uv_read_start((uv_stream_t *)&cl->tcp, on_alloc, on_read) != 0 ||
        uv_write(&cl->wreq, (uv_stream_t *)&cl->tcp, &cl->out, 1, on_write) != 0)
        finish(cl);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    (void)service();
    return 0;
}

void fuzz_server_exchange(const uint8_t *data, size_t len, bool reset)
{
    fuzz_service *svc = service();
    fuzz_client *cl = calloc(1, sizeof *cl);
    if (cl == NULL)
        die("out of memory", 0);
    cl->echo = getenv("FUZZ_ECHO") != NULL;
    cl->reset = reset;
    cl->out = uv_buf_init((char *)data, (unsigned)len);
    uv_tcp_init(&svc->loop, &cl->tcp);
    cl->tcp.data = cl;
    int rc = uv_tcp_connect(&cl->creq, &cl->tcp,
                            (const struct sockaddr *)&svc->addr, on_connect);
    if (rc != 0)
        die("connect", rc);
    /* Until our side has closed and the server has let go of the peer. */
    while (!cl->closed || svc->app.http->n_conns > 0)
        uv_run(&svc->loop, UV_RUN_ONCE);
    free(cl);
    memset(&svc->app.pause, 0, sizeof svc->app.pause); /* inputs independent */
}
