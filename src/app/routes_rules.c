/*
 * POST /rules/promote: a rule's shadow version becomes its live version
 * (docs/rules.md, "Deploying safely").  Needs the bearer token; bad input
 * answers 4xx and changes nothing.
 */
#include "app/app.h"
#include "app/auth.h"
#include "app/routes.h"
#include "core/s6_core.h"

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

void s6_route_rules_promote(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_app *app = ud;
    if (!s6_auth_require(res, req, s6_route_token(app)))
        return;
    if (!app->rules_on) {
        s6_http_res_error(res, 503, "rules_off", "the rule host is not running",
                          NULL);
        return;
    }
    json_t *doc = NULL;
    const char *name = rule_named(res, req, &doc);
    if (name != NULL) {
        char err[512];
        int rc = s6_rules_svc_promote(&app->rules, name, err, sizeof err);
        if (rc == S6_ENOTFOUND)
            s6_http_res_error(res, 404, "unknown_rule", err, "rule");
        else if (rc == S6_EINVAL)
            s6_http_res_error(res, 409, "no_shadow", err, "rule");
        else if (rc != 0)
            s6_http_res_error(res, 500, "promote_failed", err, NULL);
        else
            s6_http_res_send_json(res, 200,
                                  json_pack("{s:s,s:o}", "promoted", name,
                                            "rules",
                                            s6_rules_svc_health(&app->rules)));
    }
    json_decref(doc);
}
