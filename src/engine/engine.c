/*
 * engine.c — the position engine (engine.h, docs/engine.md).
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct s6_engine {
    const s6_config *cfg;
    s6_engine_edges edges;
    s6_log *log;
    s6_metrics *metrics;
};

int s6_engine_new(const s6_config *cfg, const s6_engine_edges *edges,
                  s6_log *log, s6_metrics *metrics, s6_engine **out,
                  char *err, size_t errlen)
{
    (void)cfg; (void)edges; (void)log; (void)metrics; (void)err; (void)errlen;
    *out = NULL;
    return -ENOSYS;
}
void s6_engine_free(s6_engine *e) { free(e); }
int s6_engine_reconfigure(s6_engine *e, const s6_config *cfg)
{
    (void)e; (void)cfg;
    return -ENOSYS;
}
void s6_engine_observe(s6_engine *e, s6_engine_observer fn, void *ud)
{
    (void)e; (void)fn; (void)ud;
}
int s6_engine_restore(s6_engine *e, const s6_engine_record *recs, size_t n,
                      char *err, size_t errlen)
{
    (void)e; (void)recs; (void)n; (void)err; (void)errlen;
    return -ENOSYS;
}
int s6_engine_resume(s6_engine *e) { (void)e; return -ENOSYS; }
int s6_engine_on_result(s6_engine *e, const s6_order_result *r, char *err,
                        size_t errlen)
{
    (void)e; (void)r; (void)err; (void)errlen;
    return -ENOSYS;
}
int s6_engine_on_market(s6_engine *e, const char *symbol, int market,
                        const s6_market_update *m)
{
    (void)e; (void)symbol; (void)market; (void)m;
    return -ENOSYS;
}
int s6_engine_on_signal(s6_engine *e, const char *symbol, int side,
                        double strength, double ts)
{
    (void)e; (void)symbol; (void)side; (void)strength; (void)ts;
    return -ENOSYS;
}
int s6_engine_tick(s6_engine *e) { (void)e; return -ENOSYS; }
int s6_engine_reconcile(s6_engine *e, const s6_venue_view *v)
{
    (void)e; (void)v;
    return -ENOSYS;
}
int s6_engine_manage(s6_engine *e, const s6_manage_req *req, json_t **out,
                     s6_api_error *err)
{
    (void)e; (void)req; (void)err;
    *out = NULL;
    return -ENOSYS;
}
json_t *s6_engine_positions_json(s6_engine *e) { (void)e; return NULL; }
json_t *s6_engine_position_json(s6_engine *e, const char *pos_id)
{
    (void)e; (void)pos_id;
    return NULL;
}
void s6_engine_get_status(const s6_engine *e, s6_engine_status *st)
{
    (void)e;
    memset(st, 0, sizeof *st);
}
void s6_engine_set_pause(s6_engine *e,
                         bool (*blocks)(void *ud, const char *symbol,
                                        int purpose),
                         void *ud)
{
    (void)e; (void)blocks; (void)ud;
}
