/*
 * POST /rules/reload and POST /rules/promote (docs/rules.md, "Deploying
 * safely"): both answer once their rule set has been checked, off the
 * event loop in worker mode.  They need the bearer token; bad input answers
 * 4xx and changes nothing.
 */
#include "app/app.h"
#include "app/auth.h"
#include "app/routes.h"
#include "core/s6_core.h"

#include <stdlib.h>
#include <string.h>

/* The body {"rule": "<name>"}: the name, or NULL with the 400 answered. */
static const char *rule_named(s6_http_res *res, const s6_http_req *req,
                              json_t **doc)
{
    json_error_t e;
    *doc = req->body_len > 0 ? json_loadb(req->body, req->body_len, 0, &e)
                             : NULL;
    if (*doc == NULL || !json_is_object(*doc)) {
        s6_http_res_error(res, 400, "bad_json", "the body must be a JSON "
                          "object {\"rule\": \"<name>\"}", NULL);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(*doc, k, v) {
        if (strcmp(k, "rule") != 0) {
            s6_http_res_error(res, 400, "unknown_field",
                              "only rule is accepted", k);
            return NULL;
        }
    }
    const char *name = json_string_value(json_object_get(*doc, "rule"));
    if (name == NULL || name[0] == '\0')
        s6_http_res_error(res, 400, "bad_field",
                          "rule must be the name of a rule", "rule");
    return name != NULL && name[0] != '\0' ? name : NULL;
}

/* A request answered when the rule host has checked what it asked for. */
typedef struct later {
    s6_http_res *res;
    s6_app *app;
    char rule[S6_RULE_NAME_MAX]; /* promote: the rule named */
} later;

static later *later_new(s6_http_res *res, s6_app *app)
{
    later *l = calloc(1, sizeof *l);
    if (l == NULL)
        s6_http_res_error(res, 503, "no_memory", "out of memory", NULL);
    else
        *l = (later){.res = res, .app = app};
    return l;
}

/* How a refusal is answered, by its code; anything else is a 500. */
static const struct {
    int rc, status;
    const char *code, *field;
} refusals[] = {
    {S6_ECANCELED, 503, "stopping", NULL},
    {S6_EBUSY, 409, "busy", NULL},
    {S6_ECONSTRAINT, 422, "rule_refused", NULL},
    {S6_ENOTFOUND, 404, "unknown_rule", "rule"},
    {S6_EINVAL, 409, "no_shadow", "rule"},
};

static void refuse(s6_http_res *res, int rc, const char *err)
{
    for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++)
        if (refusals[i].rc == rc) {
            s6_http_res_error(res, refusals[i].status, refusals[i].code, err,
                              refusals[i].field);
            return;
        }
    s6_http_res_error(res, 500, "promote_failed", err, NULL);
}

static bool running(s6_http_res *res, const s6_http_req *req, s6_app *app)
{
    if (!s6_auth_require(res, req, s6_route_token(app)))
        return false;
    if (!app->rules_on)
        s6_http_res_error(res, 503, "rules_off", "the rule host is not running",
                          NULL);
    return app->rules_on;
}

static void reloaded(void *ud, int changed, const char *err)
{
    later *l = ud;
    /* a file refused, or the folder unreadable: 422 with why */
    int rc = changed == S6_ECANCELED || changed == S6_EBUSY ? changed
             : changed < 0 || err != NULL                   ? S6_ECONSTRAINT
                                                            : 0;
    if (rc != 0)
        refuse(l->res, rc, err);
    else
        s6_http_res_send_json(l->res, 200,
                              json_pack("{s:i,s:o}", "changed", changed,
                                        "rules",
                                        s6_rules_svc_health(&l->app->rules)));
    free(l);
}

void s6_route_rules_reload(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_app *app = ud;
    later *l = running(res, req, app) ? later_new(res, app) : NULL;
    if (l != NULL)
        s6_rules_svc_reload_then(&app->rules, reloaded, l);
}

static void promoted(void *ud, int rc, const char *err)
{
    later *l = ud;
    if (rc != 0)
        refuse(l->res, rc, err);
    else
        s6_http_res_send_json(l->res, 200,
                              json_pack("{s:s,s:o}", "promoted", l->rule,
                                        "rules",
                                        s6_rules_svc_health(&l->app->rules)));
    free(l);
}

void s6_route_rules_promote(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_app *app = ud;
    if (!running(res, req, app))
        return;
    json_t *doc = NULL;
    const char *name = rule_named(res, req, &doc);
    later *l = name != NULL ? later_new(res, app) : NULL;
    if (l != NULL) {
        snprintf(l->rule, sizeof l->rule, "%s", name);
        s6_rules_svc_promote_async(&app->rules, l->rule, promoted, l);
    }
    json_decref(doc);
}
