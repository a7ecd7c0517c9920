/* The listener, the server's life cycle and graceful shutdown. */
#include "http/internal.h"
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

s6_http_limits s6_http_limits_default(void)
{
    return (s6_http_limits){
        .max_body = 1u << 20,
        .max_header_bytes = 16u << 10,
        .max_headers = 64,
        .max_pipeline = 32,
        .max_connections = 1024,
        .header_timeout_ms = 10000,
        .idle_timeout_ms = 60000,
        .linger_ms = 2000,
        .drain_timeout_ms = 10000,
    };
}

static bool limits_ok(const s6_http_limits *l)
{
    return l->max_header_bytes > 0 && l->max_headers > 0 &&
           l->max_pipeline > 0 && l->max_connections > 0 &&
           l->header_timeout_ms > 0 && l->idle_timeout_ms > 0 &&
           l->linger_ms > 0 && l->drain_timeout_ms > 0;
}

int s6_http_server_new(s6_http_server **out, uv_loop_t *loop,
                       const s6_http_limits *limits, s6_log *log)
{
    s6_http_limits lim = limits ? *limits : s6_http_limits_default();
    if (out == NULL || loop == NULL || !limits_ok(&lim))
        return -EINVAL;
    s6_http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return -ENOMEM;
    srv->loop = loop;
    srv->log = log;
    srv->lim = lim;
    /* Request ids stay distinct across restarts of the process. */
    snprintf(srv->id_prefix, sizeof srv->id_prefix, "%08x",
             (unsigned)(uv_hrtime() ^ ((uint64_t)getpid() << 16)));
    *out = srv;
    return 0;
}

void s6_http_server_free(s6_http_server *srv)
{
    if (srv == NULL)
        return;
    s6__routes_free(srv);
    s6__res_pool_free(srv);
    free(srv);
}

int s6_http_port(const s6_http_server *srv)
{
    return srv->port;
}

const char *s6__server_date(s6_http_server *srv)
{
    time_t now = (time_t)s6_clock_wall_s();
    if (now != srv->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT",
                 &tm);
        srv->date_at = now;
    }
    return srv->date;
}

/* ---- shutdown bookkeeping ---- */

static void on_drain_closed(uv_handle_t *h);

static void check_done(s6_http_server *srv)
{
    if (!srv->shutting_down || srv->n_conns > 0)
        return;
    if (srv->drain_open && !srv->drain_closing) {
        srv->drain_closing = true;
        uv_close((uv_handle_t *)&srv->drain, on_drain_closed);
    }
    if (srv->handles == 0 && !srv->notified) {
        srv->notified = true;
        s6_log_info(srv->log, "http", "server closed");
        if (srv->closed_cb != NULL)
            srv->closed_cb(srv, srv->closed_ud); /* may free srv */
    }
}

static void on_drain_closed(uv_handle_t *h)
{
    s6_http_server *srv = h->data;
    srv->drain_open = false;
    srv->handles--;
    check_done(srv);
}

static void on_listener_closed(uv_handle_t *h)
{
    s6_http_server *srv = h->data;
    srv->handles--;
    check_done(srv);
}

void s6__server_conn_gone(s6_http_server *srv)
{
    check_done(srv);
}

static void close_listener(s6_http_server *srv)
{
    if (!srv->listener_open)
        return;
    srv->listener_open = false;
    srv->port = 0;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}

/* ---- listening ---- */

static void on_connection(uv_stream_t *listener, int status)
{
    s6_http_server *srv = listener->data;
    if (status < 0) {
        s6_log_warn(srv->log, "http", "accept failed",
                    S6_LOG_STR("error", uv_strerror(status)));
        return;
    }
    s6__conn_accept(srv);
}

static int resolve(const char *host, int port, struct sockaddr_storage *sa)
{
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0)
        return 0;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa);
}

static int bound_port(uv_tcp_t *tcp, int *port)
{
    struct sockaddr_storage sa;
    int len = sizeof sa;
    int rc = uv_tcp_getsockname(tcp, (struct sockaddr *)&sa, &len);
    if (rc == 0)
        *port = ntohs(sa.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *)&sa)->sin6_port
                          : ((struct sockaddr_in *)&sa)->sin_port);
    return rc;
}

int s6_http_listen(s6_http_server *srv, const char *host, int port)
{
    if (srv == NULL || host == NULL || port < 0 || port > 65535)
        return -EINVAL;
    if (srv->listener_open || srv->shutting_down)
        return -EALREADY;
    struct sockaddr_storage sa;
    int rc = resolve(host, port, &sa);
    if (rc < 0)
        return rc;
    rc = uv_tcp_init(srv->loop, &srv->listener);
    if (rc < 0)
        return rc;
    srv->listener.data = srv;
    srv->listener_open = true;
    srv->handles++;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc == 0)
        rc = bound_port(&srv->listener, &srv->port);
    if (rc < 0)
        close_listener(srv);
    return rc;
}

/* ---- shutdown ---- */

static void cut_off(s6_http_server *srv)
{
    if (srv->n_conns > 0)
        s6_log_warn(srv->log, "http", "closing connections still busy",
                    S6_LOG_INT("connections", srv->n_conns));
    for (s6__conn *c = srv->conns; c != NULL; c = c->next)
        s6__conn_close(c);
}

static void on_drain_timeout(uv_timer_t *t)
{
    cut_off(t->data);
}

void s6_http_shutdown(s6_http_server *srv, s6_http_closed_cb cb, void *ud)
{
    if (srv->shutting_down) {
        cut_off(srv);
        return;
    }
    srv->shutting_down = true;
    srv->closed_cb = cb;
    srv->closed_ud = ud;
    close_listener(srv);
    /* The drain timer is also what makes the callback always come from
     * the loop, even with nothing to close. */
    uv_timer_init(srv->loop, &srv->drain);
    srv->drain.data = srv;
    srv->drain_open = true;
    srv->handles++;
    uv_timer_start(&srv->drain, on_drain_timeout, srv->lim.drain_timeout_ms, 0);
    s6_log_info(srv->log, "http", "draining",
                S6_LOG_INT("connections", srv->n_conns));
    for (s6__conn *c = srv->conns; c != NULL; c = c->next)
        s6__conn_drain(c);
    check_done(srv);
}
