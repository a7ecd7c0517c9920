/* The deadline watchdog; the protocol is in watchdog.h. */
#include "rules/watchdog.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>


struct s6_watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    lua_State *L;                /* the armed evaluation's state, or NULL */
    struct timespec due;         /* when the armed evaluation overruns */
    struct timespec sleep_until; /* the thread's timed wait; zero = untimed */
    uint32_t deadline_ms;
    bool fired;
    bool stop;
};

/* Its address is the registry key under which the hook finds its watchdog:
 * a light userdata key needs no allocation, so looking it up cannot fail. */
static const char s6__wd_key = 0;

static int s6__ts_cmp(struct timespec a, struct timespec b)
{
    if (a.tv_sec != b.tv_sec)
        return a.tv_sec < b.tv_sec ? -1 : 1;
    return (a.tv_nsec > b.tv_nsec) - (a.tv_nsec < b.tv_nsec);
}

static struct timespec s6__ts_after_ms(uint32_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec += 1;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool s6__ts_zero(struct timespec t)
{
    return t.tv_sec == 0 && t.tv_nsec == 0;
}

static s6_watchdog *s6__wd_of(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&s6__wd_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    s6_watchdog *w = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return w;
}

/* Pushes "chunk:line: " of the innermost Lua function on the stack (the
 * hook may land in a C function such as pcall), or "" if there is none. */
static void s6__wd_push_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

/* Runs on the host's thread at every Lua instruction once the deadline has
 * fired, so no script-level pcall can outlast it. L may be a coroutine of
 * the armed state: hooks belong to the whole state. */
static void s6__wd_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    s6_watchdog *w = s6__wd_of(L);
    bool live = false;
    uint32_t ms = 0;
    if (w) {
        pthread_mutex_lock(&w->mu);
        live = w->fired;
        ms = w->deadline_ms;
        pthread_mutex_unlock(&w->mu);
    }
    if (!live) { /* a hook left over from a finished evaluation */
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    s6__wd_push_where(L);
    lua_pushfstring(L, "rule evaluation exceeded its deadline of %u ms", ms);
    lua_concat(L, 2);
    lua_error(L);
}

static int s6__wd_register(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&s6__wd_key);
    lua_pushvalue(L, 1);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return 0;
}

/* The registry write can allocate, so it runs protected, and only the first
 * time a state meets this watchdog. */
static int s6__wd_remember(s6_watchdog *w, lua_State *L)
{
    if (s6__wd_of(L) == w)
        return 0;
    return lua_cpcall(L, s6__wd_register, w) == 0 ? 0 : -ENOMEM;
}

/* Called with the lock held, so disarm either comes first (and the thread
 * sees L == NULL) or finds fired set and removes the hook itself. */
static void s6__wd_fire(s6_watchdog *w)
{
    w->fired = true;
    lua_sethook(w->L, s6__wd_hook, LUA_MASKCOUNT, 1);
}

static void s6__wd_wait(s6_watchdog *w)
{
    if (w->L == NULL || w->fired) {
        w->sleep_until = (struct timespec){0, 0};
        pthread_cond_wait(&w->cv, &w->mu);
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (s6__ts_cmp(now, w->due) >= 0) {
        s6__wd_fire(w);
        return;
    }
    w->sleep_until = w->due;
    pthread_cond_timedwait(&w->cv, &w->mu, &w->sleep_until);
}

static void *s6__wd_run(void *arg)
{
    s6_watchdog *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop)
        s6__wd_wait(w);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int s6__wd_init_sync(s6_watchdog *w)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc)
        return -rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!rc)
        rc = pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return -rc;
    rc = pthread_mutex_init(&w->mu, NULL);
    if (rc)
        pthread_cond_destroy(&w->cv);
    return -rc;
}

int s6_watchdog_start(s6_watchdog **out)
{
    if (!out)
        return -EINVAL;
    s6_watchdog *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    int rc = s6__wd_init_sync(w);
    if (!rc) {
        rc = -pthread_create(&w->thread, NULL, s6__wd_run, w);
        if (rc) {
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cv);
        }
    }
    if (rc) {
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void s6_watchdog_stop(s6_watchdog *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int s6_watchdog_arm(s6_watchdog *w, lua_State *L, uint32_t deadline_ms)
{
    if (!w || !L || deadline_ms == 0 || deadline_ms > INT_MAX)
        return -EINVAL;
    int rc = s6__wd_remember(w, L);
    if (rc)
        return rc;
    pthread_mutex_lock(&w->mu);
    if (w->L) {
        pthread_mutex_unlock(&w->mu);
        return -EBUSY;
    }
    w->L = L;
    w->due = s6__ts_after_ms(deadline_ms);
    w->deadline_ms = deadline_ms;
    w->fired = false;
    /* Back-to-back evaluations need no wake-up: a thread already sleeping
     * until an earlier deadline re-reads the new one when it wakes. */
    if (s6__ts_zero(w->sleep_until) || s6__ts_cmp(w->due, w->sleep_until) < 0)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int s6_watchdog_disarm(s6_watchdog *w)
{
    if (!w)
        return -EINVAL;
    pthread_mutex_lock(&w->mu);
    lua_State *L = w->L;
    bool fired = w->fired;
    w->L = NULL;
    w->fired = false;
    pthread_mutex_unlock(&w->mu);
    if (!L)
        return -EINVAL;
    if (fired)
        lua_sethook(L, NULL, 0, 0);
    return fired ? 1 : 0;
}
