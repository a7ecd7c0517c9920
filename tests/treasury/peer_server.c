/* The stand-ins' shared server (peer_server.h). */
#include "peer_server.h"

#include <stdio.h>

int s6_peer_server_open(s6_peer_server *ps, uv_loop_t *loop,
                        const s6_peer_route *routes, size_t n, void *ud)
{
    *ps = (s6_peer_server){.loop = loop};
    if (s6_http_server_new(&ps->srv, loop, NULL, NULL) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s6_http_route(ps->srv, routes[i].method, routes[i].pattern,
                          routes[i].fn, ud) != 0)
            goto fail;
    if (s6_http_listen(ps->srv, "127.0.0.1", 0) == 0)
        return 0;
fail:
    s6_http_server_free(ps->srv);
    ps->srv = NULL;
    return -1;
}

bool s6_peer_server_stall(s6_peer_server *ps, s6_http_res *res)
{
    if (ps->n_stalled >= S6_PEER_SERVER_MAX_STALLED)
        return false;
    ps->stalled[ps->n_stalled++] = res;
    return true;
}

static void closed(s6_http_server *srv, void *ud)
{
    (void)srv;
    ((s6_peer_server *)ud)->closed = true;
}

void s6_peer_server_close(s6_peer_server *ps)
{
    for (size_t i = 0; i < ps->n_stalled; i++)
        s6_http_res_error(ps->stalled[i], 503, "unavailable", "shutting down",
                          NULL);
    ps->n_stalled = 0;
    s6_http_shutdown(ps->srv, closed, ps);
    while (!ps->closed)
        uv_run(ps->loop, UV_RUN_ONCE);
    s6_http_server_free(ps->srv);
    ps->srv = NULL;
}

const char *s6_peer_server_url(const s6_peer_server *ps, char *buf,
                               size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d", s6_http_port(ps->srv));
    return buf;
}
