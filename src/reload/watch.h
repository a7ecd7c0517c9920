/*
 * s6_watch: one debounced file watcher for every hot-reloaded folder
 * (rules/ and config/).  Editors save in bursts — write a temp file,
 * rename it over the old one, touch it again — so events restart a short
 * quiet-period timer and the callback runs once per burst, on the loop
 * thread, between evaluations.  What the callback does is validate-then-
 * swap (s6_registry_reload for rules, the config loader for config).
 */
#pragma once

#include <uv.h>

typedef struct s6_watch s6_watch;
typedef void (*s6_watch_cb)(s6_watch *w, void *ud);

struct s6_watch {
    uv_fs_event_t ev;
    uv_timer_t quiet;
    uint64_t quiet_ms;
    const char *suffix;     /* only names ending so count, e.g. ".lua" */
    s6_watch_cb cb;
    void *ud;
    unsigned events;        /* raw events seen */
    unsigned fired;         /* callbacks made */
    int closing;
};

int s6_watch_start(s6_watch *w, uv_loop_t *loop, const char *dir,
                   const char *suffix, uint64_t quiet_ms, s6_watch_cb cb,
                   void *ud);
/* Closes both handles; the loop must run once more to finish closing. */
void s6_watch_stop(s6_watch *w);
