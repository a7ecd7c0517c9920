/*
 * health.c — the service's parts in GET /health: Redis, the lease, the
 * history store and S4 (docs/operations.md).
 */
#include <jansson.h>

#include "app/internal.h"

static json_t *check_redis(void *ud)
{
    s6_service *svc = ud;
    s6_redis_state st = svc->redis ? s6_redis_get_state(svc->redis)
                                   : S6_REDIS_DOWN;
    s6_results_stats rs = { 0 };
    if (svc->results != NULL)
        s6_results_get_stats(svc->results, &rs);
    return json_pack("{s:b, s:s, s:I, s:b, s:I, s:I}", "ok",
                     st == S6_REDIS_UP, "url", svc->cfg->redis.url,
                     "in_flight", (json_int_t)(svc->redis
                                   ? s6_redis_in_flight(svc->redis) : 0),
                     "results_live", rs.live, "results_acked",
                     (json_int_t)rs.acked, "results_dead",
                     (json_int_t)rs.dead);
}

static json_t *check_lease(void *ud)
{
    s6_service *svc = ud;
    bool held = svc->lease != NULL && s6_lease_held(svc->lease);
    /* Sharded: which shard this instance serves, and the key naming the
     * holder of each (GET s6:lease:<k> answers its instance id). */
    return json_pack("{s:b, s:s, s:s, s:i, s:i}", "ok", held, "instance",
                     svc->instance, "key", svc->lease_key, "shard",
                     (int)svc->cfg->shard.index, "shards",
                     (int)svc->cfg->shard.count);
}

static json_t *check_store(void *ud)
{
    s6_service *svc = ud;
    return json_pack("{s:b, s:s}", "ok", svc->store != NULL, "backend",
                     svc->cfg->history.backend == S6_HISTORY_ARANGODB
                         ? "arangodb" : "sqlite");
}

/* S4 is reachable when the last reconciliation call answered; the
 * paper router is in the process. */
static json_t *check_s4(void *ud)
{
    s6_service *svc = ud;
    if (svc->s4 == NULL)
        return json_pack("{s:b, s:s}", "ok", true, "mode", "paper");
    s6_s4_router_stats st;
    s6_s4_router_get_stats(svc->s4, &st);
    double age = svc->last_reconcile_ok > 0
                     ? s6_clock_wall_s() - svc->last_reconcile_ok : -1;
    return json_pack("{s:b, s:s, s:s, s:f, s:s, s:I, s:I, s:I, s:I}", "ok",
                     svc->last_reconcile_ok > 0 && !svc->reconcile_error[0],
                     "mode", "s4", "url", svc->cfg->services.s4_url,
                     "last_reconcile_age_s", age, "error",
                     svc->reconcile_error, "queued", (json_int_t)st.queued,
                     "in_flight", (json_int_t)st.in_flight, "rejected",
                     (json_int_t)st.rejected, "failed", (json_int_t)st.failed);
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
