/*
 * health.c — the service's parts in GET /health: Redis, the lease, the
 * history store and S4 (docs/operations.md).
 */
#include "app/internal.h"

static bool check_redis(void *ud, s6_jw *w)
{
    s6_service *svc = ud;
    s6_redis_state st = svc->redis ? s6_redis_get_state(svc->redis)
                                   : S6_REDIS_DOWN;
    s6_results_stats rs = { 0 };
    if (svc->results != NULL)
        s6_results_get_stats(svc->results, &rs);
    bool ok = st == S6_REDIS_UP;
    s6_jw_obj(w);
    s6_jw_kbool(w, "ok", ok);
    s6_jw_kstr(w, "url", svc->cfg->redis.url);
    s6_jw_kint(w, "in_flight", (long long)(svc->redis
                                   ? s6_redis_in_flight(svc->redis) : 0));
    s6_jw_kbool(w, "results_live", rs.live);
    s6_jw_kint(w, "results_acked", (long long)rs.acked);
    s6_jw_kint(w, "results_dead", (long long)rs.dead);
    s6_jw_end_obj(w);
    return ok;
}

static bool check_lease(void *ud, s6_jw *w)
{
    s6_service *svc = ud;
    bool held = svc->lease != NULL && s6_lease_held(svc->lease);
    /* Sharded: which shard this instance serves, and the key naming the
     * holder of each (GET s6:lease:<k> answers its instance id). */
    s6_jw_obj(w);
    s6_jw_kbool(w, "ok", held);
    s6_jw_kstr(w, "instance", svc->instance);
    s6_jw_kstr(w, "key", svc->lease_key);
    s6_jw_kint(w, "shard", (long long)svc->cfg->shard.index);
    s6_jw_kint(w, "shards", (long long)svc->cfg->shard.count);
    s6_jw_end_obj(w);
    return held;
}

static bool check_store(void *ud, s6_jw *w)
{
    s6_service *svc = ud;
    s6_jw_obj(w);
    s6_jw_kbool(w, "ok", svc->store != NULL);
    s6_jw_kstr(w, "backend", svc->cfg->history.backend == S6_HISTORY_ARANGODB
                                 ? "arangodb" : "sqlite");
    s6_jw_end_obj(w);
    return svc->store != NULL;
}

/* S4 is reachable when the last reconciliation call answered; the
 * paper router is in the process. */
static bool check_s4(void *ud, s6_jw *w)
{
    s6_service *svc = ud;
    s6_jw_obj(w);
    if (svc->s4 == NULL) {
        s6_jw_kbool(w, "ok", true);
        s6_jw_kstr(w, "mode", "paper");
        s6_jw_end_obj(w);
        return true;
    }
    s6_s4_router_stats st;
    s6_s4_router_get_stats(svc->s4, &st);
    double age = svc->last_reconcile_ok > 0
                     ? s6_clock_wall_s() - svc->last_reconcile_ok : -1;
    bool ok = svc->last_reconcile_ok > 0 && !svc->reconcile_error[0];
    s6_jw_kbool(w, "ok", ok);
    s6_jw_kstr(w, "mode", "s4");
    s6_jw_kstr(w, "url", svc->cfg->services.s4_url);
    s6_jw_kreal(w, "last_reconcile_age_s", age);
    s6_jw_kstr(w, "error", svc->reconcile_error);
    s6_jw_kint(w, "queued", (long long)st.queued);
    s6_jw_kint(w, "in_flight", (long long)st.in_flight);
    s6_jw_kint(w, "rejected", (long long)st.rejected);
    s6_jw_kint(w, "failed", (long long)st.failed);
    s6_jw_end_obj(w);
    return ok;
}

void s6_svc_add_checks(s6_service *svc)
{
    static const struct {
        const char *name;
        s6_app_check_fn fn;
    } checks[] = { { "redis", check_redis }, { "lease", check_lease },
                   { "history_store", check_store }, { "s4", check_s4 } };
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
        if (s6_app_add_check(svc->app, checks[i].name, checks[i].fn, svc) < 0)
            s6_log_warn(svc->log, "service", "health check not added",
                        S6_LOG_STR("check", checks[i].name));
}
