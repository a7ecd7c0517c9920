/*
 * Routes on a sharded deployment (docs/api.md, "Sharded instances"): a
 * position this instance does not hold may be another shard's.  Its
 * record names its symbol, the symbol names its shard, the shard's lease
 * names its holder; the answer is 421 Misdirected Request naming them,
 * so the client (or a proxy in front) asks the holder.  No proxying: a
 * request for money actions goes to the instance that acts, visibly.
 */
#include "app/app.h"
#include "app/routes.h"

#include <stdlib.h>
#include <string.h>

void s6_route_shard_write(const s6_app *app, s6_jw *w)
{
    s6_jw_obj(w);
    s6_jw_kint(w, "index", (long long)app->shard.index);
    s6_jw_kint(w, "count", app->shard.count ? (long long)app->shard.count : 1);
    s6_jw_end_obj(w);
}

typedef struct misdirect {
    s6_http_res *res;
    s6_app *app;
    s6_api_error not_found; /* the answer when no other shard has it */
} misdirect;

static void send_not_found(s6_http_res *res, const s6_api_error *e)
{
    s6_http_res_error(res, e->status, e->code, e->message,
                      e->field[0] ? e->field : NULL);
}

static void on_located(void *ud, const s6_shard_where *w)
{
    misdirect *x = ud;
    if (w->rc != 0) {
        s6_http_res_error(x->res, 503, "unavailable", "cannot tell which "
                          "shard holds this position: Redis did not answer",
                          NULL);
    } else if (!w->known || w->shard == x->app->shard.index) {
        send_not_found(x->res, &x->not_found);
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "%s is served by shard %u of %u; ask its "
                 "holder", w->symbol, (unsigned)w->shard,
                 (unsigned)x->app->shard.count);
        json_t *holder = w->held
            ? json_pack("{s:s,s:s?}", "instance", w->instance, "http",
                        w->http[0] ? w->http : NULL)
            : json_null();
        json_t *doc = json_pack(
            "{s:{s:s,s:s},s:{s:i,s:i},s:s,s:o}", "error", "code",
            "other_shard", "message", msg, "shard", "index",
            (json_int_t)w->shard, "count", (json_int_t)x->app->shard.count,
            "symbol", w->symbol, "holder", holder);
        s6_http_res_note(x->res, "shard", w->instance[0] ? w->instance : "-");
        s6_http_res_send_json(x->res, 421, doc);
    }
    free(x);
}

void s6_route_not_here(s6_http_res *res, s6_app *app, const char *pos_id,
                       const s6_api_error *not_found)
{
    misdirect *x = NULL;
    if (app->shard.count > 1 && app->shard.locate &&
        (x = malloc(sizeof *x)) != NULL) {
        *x = (misdirect){ .res = res, .app = app, .not_found = *not_found };
        if (app->shard.locate(app->shard.ud, pos_id, on_located, x) == 0)
            return;
        free(x);
    }
    send_not_found(res, not_found);
}
