#include <string.h>

#include "reload/watch.h"

static void on_quiet(uv_timer_t *t)
{
    s6_watch *w = t->data;
    if (w->closing)
        return;
    w->fired++;
    w->cb(w, w->ud);
}

static int wanted(const s6_watch *w, const char *name)
{
    if (name == NULL)
        return 1; /* the platform did not say which: assume ours */
    size_t n = strlen(name), s = strlen(w->suffix);
    return n >= s && strcmp(name + n - s, w->suffix) == 0;
}

static void on_event(uv_fs_event_t *ev, const char *name, int events,
                     int status)
{
    s6_watch *w = ev->data;
    (void)events;
    if (status < 0 || w->closing || !wanted(w, name))
        return;
    w->events++;
    uv_timer_start(&w->quiet, on_quiet, w->quiet_ms, 0);
}

int s6_watch_start(s6_watch *w, uv_loop_t *loop, const char *dir,
                   const char *suffix, uint64_t quiet_ms, s6_watch_cb cb,
                   void *ud)
{
    if (w == NULL || loop == NULL || dir == NULL || cb == NULL)
        return UV_EINVAL;
    memset(w, 0, sizeof *w);
    w->quiet_ms = quiet_ms;
    w->suffix = suffix != NULL ? suffix : "";
    w->cb = cb;
    w->ud = ud;
    int rc = uv_timer_init(loop, &w->quiet);
    if (rc == 0)
        rc = uv_fs_event_init(loop, &w->ev);
    if (rc != 0)
        return rc;
    w->ev.data = w->quiet.data = w;
    return uv_fs_event_start(&w->ev, on_event, dir, 0);
}

void s6_watch_stop(s6_watch *w)
{
    if (w == NULL || w->closing)
        return;
    w->closing = 1;
    uv_fs_event_stop(&w->ev);
    uv_timer_stop(&w->quiet);
    uv_close((uv_handle_t *)&w->ev, NULL);
    uv_close((uv_handle_t *)&w->quiet, NULL);
}
