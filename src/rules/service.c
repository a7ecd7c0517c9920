#include "rules/service.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/s6_core.h"
#include "rules/watchdog.h"
#include "rules/worker_proto.h"

#ifndef S6_LUA_DIR_DEFAULT
#define S6_LUA_DIR_DEFAULT "lua"
#endif

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : fallback;
}

/*
 * Defaults measured in docs/sandbox-deadline.md: a batch of 10,000
 * positions through the shipped rules takes a few milliseconds, so 50 ms
 * plus 10 us per position is far above a healthy batch and far below a
 * stall anyone would notice.  64 MiB is hundreds of times what the shipped
 * rules use.
 */
void s6_rules_svc_config_default(s6_rules_svc_config *cfg)
{
    *cfg = (s6_rules_svc_config){
        .rules_dir = env_or("S6_RULES_DIR", "rules"),
        .lua_dir = env_or("S6_LUA_DIR", S6_LUA_DIR_DEFAULT),
        .mem_limit = 64u << 20,
        .deadline_ms = 50,
        .deadline_us_per_eval = 10,
        .load_deadline_ms = 1000,
        .quiet_ms = 50,
        .rollback_faults = 5,
    };
}

void s6_rules_svc_config_from(s6_rules_svc_config *r, const s6_config *c)
{
    r->rules_dir = c->rules.dir;
    r->mem_limit = (size_t)c->rules.mem_limit_mb << 20;
    r->deadline_ms = c->rules.deadline_ms;
    r->deadline_us_per_eval = c->rules.deadline_us_per_eval;
    r->load_deadline_ms = c->rules.load_deadline_ms;
    r->rollback_faults = c->rules.rollback_faults;
    r->clean_batches = c->rules.clean_batches;
    r->shadow_promote_after_s = c->rules.shadow_promote_after_s;
    r->regimes = (const char *const *)c->rules.regimes.v;
    r->n_regimes = c->rules.regimes.n;
}

/* Counters are looked up per event: faults and reloads are rare, and a
 * rule's name is only known when it faults. */
static void count(s6_rules_svc *rs, const char *name, size_t n,
                  const char *const *labels)
{
    if (rs->metrics == NULL)
        return;
    s6_counter *c = NULL;
    /* a failed look-up still hands out a handle that does nothing */
    (void)s6_counter_get(rs->metrics, name, n, labels, &c);
    s6_counter_inc(c);
}

static const char *fault_kind(const s6_rule_fault *f)
{
    return f->fatal ? "worker_killed" : f->overrun ? "overrun" : "error";
}

static void on_fault(void *ud, const s6_rule_fault *f)
{
    s6_rules_svc *rs = ud;
    const s6_rule_entry *e = f->rule_id >= 0 && f->rule_id < rs->reg.n
                                 ? &rs->reg.rules[f->rule_id] : NULL;
    count(rs, "s6_rule_errors_total", 2,
          S6_LABELS(e ? e->name : "?", fault_kind(f)));
    if (f->fatal)
        count(rs, "s6_rule_worker_restarts_total", 0, NULL);
    s6_log_warn(rs->log, "rules", f->fatal ? "rule worker killed"
                                  : f->overrun ? "rule overran its deadline"
                                               : "rule raised an error",
                S6_LOG_STR("rule", e ? e->name : "?"),
                S6_LOG_STR("rule_version", e ? e->hash : "?"),
                S6_LOG_INT("pos_index", f->pos_index),
                S6_LOG_STR("error", f->message));
}

static void on_shadow_fault(void *ud, const s6_rule_fault *f)
{
    s6_rules_svc *rs = ud;
    const s6_rule_entry *e = f->rule_id >= 0 && f->rule_id < rs->reg.n
                                 ? &rs->reg.rules[f->rule_id] : NULL;
    count(rs, "s6_rule_shadow_errors_total", 2,
          S6_LABELS(e ? e->name : "?", fault_kind(f)));
    s6_log_warn(rs->log, "rules", "shadow rule failed; the live version is "
                "not affected",
                S6_LOG_STR("rule", e ? e->name : "?"),
                S6_LOG_STR("shadow_version", e ? e->shadow_hash : "?"),
                S6_LOG_STR("kind", fault_kind(f)),
                S6_LOG_INT("pos_index", f->pos_index),
                S6_LOG_STR("error", f->message));
}

/* The settings a rule set is built with; the registry keeps its own fault
 * hook in front of ours. */
static void configure(s6_rules_svc *rs, const s6_rules_svc_config *cfg)
{
    s6_ruleset_opts *o = &rs->reg.opts;
    o->lua_dir = cfg->lua_dir;
    o->mem_limit = cfg->mem_limit;
    o->deadline_ms = cfg->deadline_ms;
    o->deadline_us_per_eval = cfg->deadline_us_per_eval;
    o->load_deadline_ms = cfg->load_deadline_ms;
    o->max_faults_per_rule = 3;
    o->max_actions = cfg->max_actions;
    o->max_state_bytes = cfg->max_state_bytes;
    o->worker_exe = cfg->worker_exe;
    /* the shared regions, twice the Lua cap (the allocator's own
     * overhead) and room for the binary, its libraries and threads */
    o->worker_as_limit = s6_wk_layout_get().total + 2 * cfg->mem_limit +
                         ((size_t)768 << 20);
    /* a worker holds its own watchdog; the service's would be idle */
    o->watchdog = cfg->worker_exe != NULL ? NULL : rs->wd;
    o->regimes = cfg->regimes;
    o->n_regimes = cfg->regimes != NULL ? cfg->n_regimes : 0;
    rs->reg.user_fault = on_fault;
    rs->reg.user_shadow_fault = on_shadow_fault;
    rs->reg.user_ud = rs;
    rs->reg.clean_batches = cfg->clean_batches > 0 ? cfg->clean_batches : 20;
    rs->promote_after_s = cfg->shadow_promote_after_s;
    rs->reg.rollback_faults = cfg->rollback_faults > 0 ? cfg->rollback_faults : 5;
    rs->reg.params_of = cfg->params_of;
    rs->reg.params_ud = cfg->params_ud;
}

static int open_registry(s6_rules_svc *rs, const s6_rules_svc_config *cfg,
                         char *err, size_t errlen)
{
    int rc = s6_watchdog_start(&rs->wd);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the rule watchdog");
        return rc;
    }
    rc = s6_registry_init(&rs->reg, cfg->rules_dir, &(s6_ruleset_opts){0});
    if (rc == 0) {
        configure(rs, cfg);
        rc = s6_registry_load(&rs->reg, err, errlen);
    }
    return rc;
}

static void take_snap(const s6_rules_svc *rs, s6_rules_snap *snap)
{
    memset(snap, 0, sizeof *snap);
    for (int i = 0; i < rs->reg.n; i++) {
        const s6_rule_entry *e = &rs->reg.rules[i];
        if (e->good != NULL && e->present && !e->quarantined)
            memcpy(snap->live[i], e->hash, 17);
        if (e->shadow != NULL)
            memcpy(snap->shadow[i], e->shadow_hash, 17);
        if (e->good != NULL)
            memcpy(snap->params[i], e->params_hash, 17);
    }
}

/* One line per rule whose live version, shadow or parameters changed
 * since `was`; nothing about the others. */
static void log_changes(s6_rules_svc *rs, const s6_rules_snap *was)
{
    s6_rules_snap now;
    take_snap(rs, &now);
    for (int i = 0; i < rs->reg.n; i++) {
        const char *name = rs->reg.rules[i].name;
        if (strcmp(now.live[i], was->live[i]) != 0)
            s6_log_info(rs->log, "rules", now.live[i][0] ? "rule version live"
                                                         : "rule removed",
                        S6_LOG_STR("rule", name),
                        S6_LOG_STR("rule_version",
                                   now.live[i][0] ? now.live[i] : NULL),
                        S6_LOG_STR("previous",
                                   was->live[i][0] ? was->live[i] : NULL),
                        S6_LOG_INT("set_version", rs->reg.version));
        else if (now.live[i][0] && was->params[i][0] &&
                 strcmp(now.params[i], was->params[i]) != 0)
            s6_log_info(rs->log, "rules", "rule parameters live",
                        S6_LOG_STR("rule", name),
                        S6_LOG_STR("rule_version", now.live[i]),
                        S6_LOG_INT("set_version", rs->reg.version));
        if (strcmp(now.shadow[i], was->shadow[i]) != 0)
            s6_log_info(rs->log, "rules", now.shadow[i][0]
                                              ? "rule shadow running"
                                              : "rule shadow stopped",
                        S6_LOG_STR("rule", name),
                        S6_LOG_STR("shadow_version",
                                   now.shadow[i][0] ? now.shadow[i] : NULL),
                        S6_LOG_STR("rule_version",
                                   now.live[i][0] ? now.live[i] : NULL));
    }
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* The shadow set follows its entries (a shadow saved, gone, retired). */
static void sync_shadows(s6_rules_svc *rs)
{
    if (s6_registry_shadow_sync(&rs->reg, now_ms()) != 0)
        s6_log_error(rs->log, "rules", "rule shadows could not start",
                     S6_LOG_STR("error", rs->reg.rules[0].shadow_error));
}

/* A trial on libuv's thread pool in worker mode, so the loop never waits
 * for it; in-process here (one watchdog, here).  ran follows on the loop. */
static void off_loop(s6_rules_svc *rs, uv_work_t *w, uv_work_cb run,
                     uv_after_work_cb ran)
{
    w->data = rs;
    if (rs->loop != NULL && rs->reg.opts.worker_exe != NULL &&
        uv_queue_work(rs->loop, w, run, ran) == 0)
        return;
    run(w);
    ran(w, 0);
}

/* ---- a configuration's parameters, tried off the loop ---- */

static void run_params(uv_work_t *w)
{
    s6_rules_svc *rs = w->data;
    s6_registry_trial_run(rs->ptrial);
}

static void params_ran(uv_work_t *w, int status)
{
    s6_rules_svc *rs = w->data;
    (void)status;
    s6_rule_trial *t = rs->ptrial;
    rs->ptrial = NULL;
    if (rs->stopping) {
        s6_registry_trial_free(t);
        return;
    }
    s6_ruleset_free(rs->pset);
    rs->pset = t->rc == 0 ? t->set : NULL;
    rs->pset_version = t->version;
    t->set = NULL;
    int rc = t->rc;
    char err[512];
    snprintf(err, sizeof err, "%s", t->err);
    s6_registry_trial_free(t);
    rs->pdone(rs->pdone_ud, rc, rc != 0 ? err : NULL);
}

void s6_rules_svc_try_params(s6_rules_svc *rs,
                             const char *(*params_of)(void *, const char *),
                             void *params_ud,
                             void (*done)(void *ud, int rc, const char *err),
                             void *done_ud)
{
    s6_rule_trial *t = rs->ptrial == NULL
                           ? s6_registry_trial_params(&rs->reg, params_of,
                                                      params_ud)
                           : NULL;
    if (t == NULL) {
        done(done_ud, rs->ptrial != NULL ? S6_EBUSY : S6_ENOMEM,
             "the rule parameters could not be tried");
        return;
    }
    s6_log_info(rs->log, "rules", "rule parameters being checked",
                S6_LOG_INT("rules", (int64_t)t->n));
    rs->ptrial = t;
    rs->pdone = done;
    rs->pdone_ud = done_ud;
    off_loop(rs, &rs->pwork, run_params, params_ran);
}

/* The set the configuration's check built, when nothing changed since. */
static int adopt_tried(s6_rules_svc *rs)
{
    s6_ruleset *set = rs->pset;
    rs->pset = NULL;
    if (set == NULL || rs->pset_version != rs->reg.version) {
        s6_ruleset_free(set);
        return S6_EINVAL;
    }
    return s6_registry_adopt(&rs->reg, set);
}

int s6_rules_svc_reconfigure(s6_rules_svc *rs, const s6_rules_svc_config *cfg)
{
    s6_rules_snap was;
    take_snap(rs, &was);
    configure(rs, cfg);
    int rc = adopt_tried(rs) == 0 ? 0 : s6_registry_rebuild(&rs->reg);
    if (rc != 0)
        s6_log_error(rs->log, "rules",
                     "new rule settings refused; the running rule set stays",
                     S6_LOG_STR("error", rs->reg.last_error));
    else
        log_changes(rs, &was);
    rs->reg.shadow_dirty = 1; /* the shadows take the new parameters too */
    sync_shadows(rs);
    return rc;
}

static void report_reload(s6_rules_svc *rs, unsigned failures, int changed,
                          const s6_rules_snap *was)
{
    sync_shadows(rs);
    log_changes(rs, was);
    if (rs->reg.reload_failures != failures) {
        s6_log_error(rs->log, "rules",
                     "rule reload refused; the previous version keeps running",
                     S6_LOG_STR("error", rs->reg.last_error));
        count(rs, "s6_rule_reloads_total", 1, S6_LABELS("rejected"));
    }
    if (changed > 0)
        count(rs, "s6_rule_reloads_total", 1, S6_LABELS("ok"));
}

int s6_rules_svc_reload(s6_rules_svc *rs)
{
    unsigned failures = rs->reg.reload_failures;
    s6_rules_snap was;
    take_snap(rs, &was);
    int changed = s6_registry_reload(&rs->reg);
    report_reload(rs, failures, changed, &was);
    return changed;
}

/* ---- the watcher's reload, off the loop ---- */

static void next_trial(s6_rules_svc *rs);

/* Why the reload that began with `failures` refused a file, or NULL. */
static const char *refusal_of(const s6_rules_svc *rs, int changed,
                              unsigned failures)
{
    return changed < 0 || rs->reg.reload_failures != failures
               ? rs->reg.last_error : NULL;
}

/* Answers the callers whose round is over; every one when the service
 * stops (all). */
static void answer_waiting(s6_rules_svc *rs, int changed, const char *err,
                           int all)
{
    s6_rules_waiter due[S6_RULES_WAITERS];
    int ndue = 0, kept = 0;
    for (int i = 0; i < rs->nwaiting; i++) {
        if (all || rs->waiting[i].round <= rs->round)
            due[ndue++] = rs->waiting[i];
        else
            rs->waiting[kept++] = rs->waiting[i];
    }
    rs->nwaiting = kept;
    for (int i = 0; i < ndue; i++)
        due[i].done(due[i].ud, changed, err);
}

static void run_trial(uv_work_t *w)
{
    s6_rules_svc *rs = w->data;
    s6_registry_trial_run(rs->trial);
}

static void trial_ran(uv_work_t *w, int status)
{
    s6_rules_svc *rs = w->data;
    (void)status;
    s6_rule_trial *t = rs->trial;
    rs->trial = NULL;
    if (rs->stopping) {
        s6_registry_trial_free(t);
        rs->reloading = 0;
        answer_waiting(rs, S6_ECANCELED, "the service is stopping", 1);
        return;
    }
    rs->accepted += s6_registry_trial_done(&rs->reg, t);
    next_trial(rs);
}

static void next_trial(s6_rules_svc *rs)
{
    rs->trial = s6_registry_trial_next(&rs->reg);
    if (rs->trial != NULL) {
        s6_log_info(rs->log, "rules", "rule candidate being checked",
                    S6_LOG_STR("rule", rs->reg.rules[rs->trial->entry].name),
                    S6_LOG_STR("as", rs->trial->shadow ? "shadow" : "live"));
        rs->work.data = rs;
        if (uv_queue_work(rs->loop, &rs->work, run_trial, trial_ran) == 0)
            return;
        s6_registry_trial_free(rs->trial);
        rs->trial = NULL;
    }
    int changed = s6_registry_reload_finish(
        &rs->reg, rs->scan_rc < 0 ? rs->scan_rc : rs->accepted, rs->scan_err);
    report_reload(rs, rs->failures_before, changed, &rs->before);
    rs->reloading = 0;
    answer_waiting(rs, changed, refusal_of(rs, changed, rs->failures_before),
                   0);
    if (rs->again) {
        rs->again = 0;
        s6_rules_svc_reload_async(rs);
    }
}

void s6_rules_svc_reload_async(s6_rules_svc *rs)
{
    if (rs->loop == NULL || rs->reg.opts.worker_exe == NULL) {
        (void)s6_rules_svc_reload(rs); /* in-process: one watchdog, here */
        return;
    }
    if (rs->reloading) {
        rs->again = 1;
        return;
    }
    rs->reloading = 1;
    rs->round++;
    rs->accepted = 0;
    rs->failures_before = rs->reg.reload_failures;
    take_snap(rs, &rs->before);
    rs->reg.reloads++;
    rs->scan_err[0] = '\0';
    rs->scan_rc = s6_registry_scan(&rs->reg, rs->scan_err, sizeof rs->scan_err);
    next_trial(rs);
}

void s6_rules_svc_reload_then(s6_rules_svc *rs, s6_rules_done_cb done,
                              void *ud)
{
    if (rs->loop == NULL || rs->reg.opts.worker_exe == NULL) {
        unsigned failures = rs->reg.reload_failures;
        int changed = s6_rules_svc_reload(rs);
        done(ud, changed, refusal_of(rs, changed, failures));
        return;
    }
    if (rs->stopping || rs->nwaiting == S6_RULES_WAITERS) {
        done(ud, rs->stopping ? S6_ECANCELED : S6_EBUSY,
             rs->stopping ? "the service is stopping"
                          : "too many reloads waiting; ask again later");
        return;
    }
    /* the round that starts now, or the one after the round running:
     * either reads the folder after this call */
    rs->waiting[rs->nwaiting++] =
        (s6_rules_waiter){.done = done, .ud = ud, .round = rs->round + 1};
    s6_rules_svc_reload_async(rs);
}

static void on_change(s6_watch *w, void *ud)
{
    (void)w;
    s6_rules_svc_reload_async(ud);
}

int s6_rules_svc_start(s6_rules_svc *rs, uv_loop_t *loop, s6_log *log,
                       s6_metrics *metrics, const s6_rules_svc_config *cfg,
                       char *err, size_t errlen)
{
    memset(rs, 0, sizeof *rs);
    rs->log = log;
    rs->metrics = metrics;
    s6_rules_snap none;
    memset(&none, 0, sizeof none);
    int rc = open_registry(rs, cfg, err, errlen);
    if (rc != 0)
        return rc;
    sync_shadows(rs);
    log_changes(rs, &none);
    rs->loop = loop;
    if (loop == NULL)
        return 0;
    rc = s6_watch_start(&rs->watch, loop, cfg->rules_dir, ".lua",
                        cfg->quiet_ms, on_change, rs);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot watch: %s", cfg->rules_dir,
                 uv_strerror(rc));
        return rc;
    }
    rs->watching = 1;
    return 0;
}

/* What maintain did, by the counters it moves. */
static const struct {
    size_t offset;
    const char *msg, *label;
} maintained[] = {
    {offsetof(s6_rule_registry, rollbacks), "rule version rolled back",
     "rolled_back"},
    {offsetof(s6_rule_registry, quarantines), "rule quarantined",
     "quarantined"},
    {offsetof(s6_rule_registry, restarts), "rule worker restarted",
     "restarted"},
};

static unsigned counter_at(const s6_rule_registry *reg, size_t offset)
{
    return *(const unsigned *)((const char *)reg + offset);
}

/* The checked promotion t goes live (or is refused); logged and counted. */
static int promoted(s6_rules_svc *rs, s6_rule_trial *t, char *err,
                    size_t errlen)
{
    s6_rules_snap was;
    take_snap(rs, &was);
    const s6_rule_entry *e = &rs->reg.rules[t->entry];
    int rc = s6_registry_promote_done(&rs->reg, t, err, errlen);
    if (rc != 0)
        return rc;
    sync_shadows(rs);
    s6_log_warn(rs->log, "rules", "rule shadow promoted",
                S6_LOG_STR("rule", e->name),
                S6_LOG_STR("rule_version", e->hash),
                S6_LOG_STR("previous", e->prev ? e->prev_hash : NULL),
                S6_LOG_INT("set_version", rs->reg.version));
    log_changes(rs, &was);
    count(rs, "s6_rule_reloads_total", 1, S6_LABELS("promoted"));
    return 0;
}

int s6_rules_svc_promote(s6_rules_svc *rs, const char *rule, char *err,
                         size_t errlen)
{
    int rc;
    s6_rule_trial *t = s6_registry_promote_trial(&rs->reg, rule, &rc, err,
                                                 errlen);
    if (t == NULL)
        return rc;
    s6_registry_trial_run(t);
    return promoted(rs, t, err, errlen);
}

static void run_promote(uv_work_t *w)
{
    s6_rules_svc *rs = w->data;
    s6_registry_trial_run(rs->mtrial);
}

static void promote_ran(uv_work_t *w, int status)
{
    s6_rules_svc *rs = w->data;
    (void)status;
    s6_rule_trial *t = rs->mtrial;
    rs->mtrial = NULL;
    char err[512] = "the service is stopping";
    int rc = S6_ECANCELED;
    if (rs->stopping)
        s6_registry_trial_free(t);
    else
        rc = promoted(rs, t, err, sizeof err);
    rs->mdone(rs->mdone_ud, rc, rc != 0 ? err : NULL);
}

void s6_rules_svc_promote_async(s6_rules_svc *rs, const char *rule,
                                s6_rules_done_cb done, void *ud)
{
    char err[512] = "a promotion is being checked; ask again once it is "
                    "answered";
    int rc = S6_EBUSY;
    s6_rule_trial *t = rs->mtrial == NULL && !rs->stopping
                           ? s6_registry_promote_trial(&rs->reg, rule, &rc,
                                                       err, sizeof err)
                           : NULL;
    if (t == NULL) {
        done(ud, rc, err);
        return;
    }
    snprintf(rs->mrule, sizeof rs->mrule, "%s", rule);
    s6_log_info(rs->log, "rules", "rule shadow being checked for promotion",
                S6_LOG_STR("rule", rs->mrule));
    rs->mtrial = t;
    rs->mdone = done;
    rs->mdone_ud = ud;
    off_loop(rs, &rs->mwork, run_promote, promote_ran);
}

static void auto_promoted(void *ud, int rc, const char *err)
{
    s6_rules_svc *rs = ud;
    if (rc != 0 && rc != S6_ECANCELED)
        s6_log_error(rs->log, "rules", "rule shadow not promoted",
                     S6_LOG_STR("rule", rs->mrule), S6_LOG_STR("error", err));
}

/* A shadow that ran a whole promote_after_s on live positions without a
 * fault becomes live by itself (rules.shadow_promote_after_s). */
static void auto_promote(s6_rules_svc *rs)
{
    /* the service only: a replay's clock is not the wall clock, and it
     * must never write the rule folder */
    if (rs->promote_after_s <= 0 || rs->reg.shadow_set == NULL ||
        rs->loop == NULL)
        return;
    uint64_t now = now_ms();
    for (int i = 0; i < rs->reg.n && rs->mtrial == NULL; i++) {
        const s6_rule_entry *e = &rs->reg.rules[i];
        if (e->shadow == NULL || e->shadow_faults > 0 ||
            e->shadow_evals == 0 || e->shadow_since_ms == 0 ||
            (double)(now - e->shadow_since_ms) < rs->promote_after_s * 1e3)
            continue;
        char name[S6_RULE_NAME_MAX];
        snprintf(name, sizeof name, "%s", e->name);
        s6_rules_svc_promote_async(rs, name, auto_promoted, rs);
    }
}

void s6_rules_svc_maintain(s6_rules_svc *rs)
{
    auto_promote(rs);
    unsigned before[3];
    for (size_t i = 0; i < 3; i++)
        before[i] = counter_at(&rs->reg, maintained[i].offset);
    if (!s6_registry_maintain(&rs->reg))
        return;
    for (size_t i = 0; i < 3; i++) {
        if (counter_at(&rs->reg, maintained[i].offset) == before[i])
            continue;
        s6_log_error(rs->log, "rules", maintained[i].msg,
                     S6_LOG_STR("error", rs->reg.last_error),
                     S6_LOG_INT("set_version", rs->reg.version));
        count(rs, "s6_rule_reloads_total", 1, S6_LABELS(maintained[i].label));
        count(rs, "s6_risk_alerts_total", 1, S6_LABELS("rule_rollback"));
    }
}

/* Wraps the caller's plan hook: every dropped proposal is logged with its
 * reason and counted, then the caller sees the plan. */
typedef struct run_ctx {
    s6_rules_svc *rs;
    const s6_decide_hooks *user;
} run_ctx;

static int run_limits(void *ud, size_t pi, s6_symbol_filters *f,
                      s6_limits *lim)
{
    run_ctx *c = ud;
    return c->user->limits(c->user->ud, pi, f, lim);
}

static void run_refused(void *ud, size_t pi, const char *reason, size_t n)
{
    run_ctx *c = ud;
    s6_log_warn(c->rs->log, "rules", "proposals refused by the guard",
                S6_LOG_INT("pos_index", (int64_t)pi),
                S6_LOG_STR("reason", reason),
                S6_LOG_INT("proposals", (int64_t)n));
    count(c->rs, "s6_plans_refused_total", 1, S6_LABELS(reason));
    if (c->user->refused != NULL)
        c->user->refused(c->user->ud, pi, reason, n);
}

static void run_plan(void *ud, size_t pi, const s6_plan *plan,
                     const s6_proposal *props, size_t n,
                     const s6_plan_versions *v)
{
    run_ctx *c = ud;
    for (size_t i = 0; i < plan->n_rejects; i++) {
        const s6_plan_reject *r = &plan->rejects[i];
        int id = r->rule_index;
        const char *rule = id >= 0 && id < c->rs->reg.n
                               ? c->rs->reg.rules[id].name : "manual";
        const char *code = s6_reject_name(r->code);
        s6_log_info(c->rs->log, "rules", "proposal dropped",
                    S6_LOG_INT("slot", plan->slot), S6_LOG_STR("rule", rule),
                    S6_LOG_STR("rule_version", id >= 0 && id < c->rs->reg.n
                                                   ? c->rs->reg.rules[id].hash
                                                   : NULL),
                    S6_LOG_STR("code", code), S6_LOG_STR("reason", r->reason));
        count(c->rs, "s6_proposals_rejected_total", 1, S6_LABELS(code));
    }
    s6_shadow_live_plan(&c->rs->shadow, pi, plan);
    c->user->plan(c->user->ud, pi, plan, props, n, v);
}

static void count_diff(void *ud, const s6_rule_entry *e, int kind)
{
    count(ud, "s6_rule_shadow_diffs_total", 2,
          S6_LABELS(e->name, s6_shadow_kind_name(kind)));
}

/* The shadows' evaluations and plans so far, as counters. */
static void count_shadow_evals(s6_rules_svc *rs, size_t n)
{
    for (int i = 0; rs->metrics != NULL && i < rs->reg.n; i++) {
        if (rs->reg.rules[i].shadow == NULL)
            continue;
        s6_counter *c = NULL;
        (void)s6_counter_get(rs->metrics, "s6_rule_shadow_evals_total", 1,
                             S6_LABELS(rs->reg.rules[i].name), &c);
        s6_counter_add(c, (double)n);
    }
}

/* Actions over a rule's cap were dropped in the host: said and counted
 * once per rule and batch, the rule's first actions went through. */
static void report_capped(s6_rules_svc *rs, const s6_sink *sink)
{
    for (int id = 0; id < rs->reg.n && id < 64; id++) {
        if (sink->capped[id] == 0)
            continue;
        const s6_rule_entry *e = &rs->reg.rules[id];
        s6_log_warn(rs->log, "rules", "actions over the rule's cap dropped",
                    S6_LOG_STR("rule", e->name),
                    S6_LOG_STR("rule_version", e->hash),
                    S6_LOG_INT("dropped", (int64_t)sink->capped[id]));
        count(rs, "s6_rule_actions_dropped_total", 1, S6_LABELS(e->name));
    }
}

static void observe_eval(s6_rules_svc *rs, uint64_t t0)
{
    if (rs->metrics == NULL)
        return;
    s6_hist *h = NULL;
    (void)s6_hist_get(rs->metrics, "s6_rule_eval_seconds", 0, NULL, &h);
    s6_hist_observe(h, (double)(uv_hrtime() - t0) / 1e9);
}

/* After the evaluation: timed, capped actions said, the proposals guarded
 * into plans for the caller's hooks, then any pending rollback. */
static int run_tail(s6_rules_svc *rs, int rc, const s6_pos_view *pos,
                    const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                    const s6_decide_hooks *hooks, s6_decide_stats *stats,
                    uint64_t t0)
{
    observe_eval(rs, t0);
    report_capped(rs, sink);
    s6_registry_batch_done(&rs->reg, rc);
    if (rc != 0) {
        /* no plans this time; a dead worker is restarted for the next */
        s6_rules_svc_maintain(rs);
        return rc;
    }
    const char *hashes[S6_REG_MAX_RULES];
    int nrules = s6_registry_hashes(&rs->reg, hashes, S6_REG_MAX_RULES);
    run_ctx c = {.rs = rs, .user = hooks};
    s6_decide_hooks wrapped = {.limits = run_limits, .plan = run_plan,
                               .refused = run_refused,
                               .rule_hashes = hashes,
                               .n_rule_hashes = (size_t)nrules, .ud = &c};
    rc = s6_decide_batch(pos, mkt, n, sink->v, sink->n, &wrapped, stats);
    if (rs->shadow.ran) {
        count_shadow_evals(rs, n);
        s6_shadow_compare(&rs->shadow, &rs->reg, pos, mkt, n, sink, hooks,
                          count_diff, rs);
    }
    s6_rules_svc_maintain(rs);
    return rc;
}

int s6_rules_svc_run(s6_rules_svc *rs, const s6_pos_view *pos,
                     const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                     s6_state_store *store, const s6_decide_hooks *hooks,
                     s6_decide_stats *stats)
{
    bool pending = false;
    return s6_rules_svc_run_start(rs, pos, mkt, n, sink, store, hooks, stats,
                                  NULL, NULL, &pending);
}

/* ---- a batch in flight (worker mode, with a loop) ---- */

struct s6_rules_flight {
    s6_rules_svc *rs;
    const s6_pos_view *pos;
    const s6_mkt_view *mkt;
    size_t n;
    s6_sink *sink;
    s6_decide_hooks hooks;
    s6_decide_stats *stats;
    s6_rules_svc_done done;
    void *ud;
    uint64_t t0;
    s6_eval_call *call;
};

static int flight_keep(void *ud, size_t pi)
{
    s6_rules_flight *f = ud;
    return f->hooks.current == NULL || f->hooks.current(f->hooks.ud, pi);
}

static void flight_done(void *ud, int rc)
{
    s6_rules_flight *f = ud;
    f->rs->flight = NULL;
    rc = run_tail(f->rs, rc, f->pos, f->mkt, f->n, f->sink, &f->hooks,
                  f->stats, f->t0);
    f->done(f->ud, rc);
    free(f);
}

int s6_rules_svc_run_start(s6_rules_svc *rs, const s6_pos_view *pos,
                           const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                           s6_state_store *store,
                           const s6_decide_hooks *hooks,
                           s6_decide_stats *stats, s6_rules_svc_done done,
                           void *ud, bool *pending)
{
    *pending = false;
    if (rs == NULL || rs->reg.live == NULL || hooks == NULL)
        return S6_EINVAL;
    if (rs->flight != NULL)
        return -EBUSY;
    sync_shadows(rs);
    /* first, so the shadows read the states the live versions start from */
    (void)s6_shadow_before(&rs->shadow, &rs->reg, pos, mkt, n, store);
    uint64_t t0 = uv_hrtime();
    s6_sink_reset(sink);
    s6_rules_flight *f = done != NULL && rs->loop != NULL
                             ? calloc(1, sizeof *f) : NULL;
    if (f != NULL) {
        *f = (s6_rules_flight){.rs = rs, .pos = pos, .mkt = mkt, .n = n,
                               .sink = sink, .hooks = *hooks, .stats = stats,
                               .done = done, .ud = ud, .t0 = t0};
        s6_eval_async a = {.loop = rs->loop, .keep = flight_keep,
                           .done = flight_done, .ud = f};
        int rc = s6_ruleset_eval_start(rs->reg.live, pos, mkt, n, sink, store,
                                       &a, &f->call);
        if (f->call != NULL) {
            rs->flight = f;
            *pending = true;
            return S6_OK;
        }
        free(f);
        return run_tail(rs, rc, pos, mkt, n, sink, hooks, stats, t0);
    }
    int rc = s6_ruleset_eval(rs->reg.live, pos, mkt, n, sink, store, NULL);
    return run_tail(rs, rc, pos, mkt, n, sink, hooks, stats, t0);
}

void s6_rules_svc_settle(s6_rules_svc *rs)
{
    if (rs != NULL && rs->flight != NULL)
        s6_eval_call_settle(rs->flight->call);
}

void s6_rules_svc_cancel(s6_rules_svc *rs)
{
    s6_rules_flight *f = rs != NULL ? rs->flight : NULL;
    if (f == NULL)
        return;
    rs->flight = NULL;
    s6_eval_call_cancel(f->call);
    free(f);
}

static json_t *shadow_json(const s6_rule_entry *e, uint64_t now)
{
    if (e->shadow == NULL)
        return e->shadow_error[0]
                   ? json_pack("{s:n,s:s}", "version", "last_error",
                               e->shadow_error)
                   : json_null();
    json_t *by = json_object();
    for (int k = 0; k < S6_SHADOW_KINDS; k++)
        json_object_set_new(by, s6_shadow_kind_name(k),
                            json_integer((json_int_t)e->shadow_diff[k]));
    double age = e->shadow_since_ms > 0 && now >= e->shadow_since_ms
                     ? (double)(now - e->shadow_since_ms) / 1e3 : 0;
    return json_pack("{s:s,s:f,s:I,s:I,s:o,s:s?,s:I,s:s?}", "version",
                     e->shadow_hash, "running_s", age, "evaluations",
                     (json_int_t)e->shadow_evals, "differed",
                     (json_int_t)e->shadow_differed, "diff", by, "last_diff",
                     e->shadow_last_diff[0] ? e->shadow_last_diff : NULL,
                     "faults", (json_int_t)e->shadow_faults, "last_error",
                     e->shadow_error[0] ? e->shadow_error : NULL);
}

static json_t *rule_json(const s6_rule_entry *e, uint64_t now)
{
    json_t *r = json_pack(
        "{s:s,s:s?,s:s?,s:b,s:b,s:s?,s:I}", "name", e->name, "version",
        e->good ? e->hash : NULL, "previous", e->prev ? e->prev_hash : NULL,
        "live", e->good != NULL && e->present && !e->quarantined,
        "quarantined", e->quarantined, "last_error",
        e->last_error[0] ? e->last_error : NULL, "faults",
        (json_int_t)e->faults);
    json_object_set_new(r, "proven", e->proven ? json_string(e->proven_hash)
                                               : json_null());
    json_object_set_new(r, "clean_batches", json_integer(e->clean));
    json_object_set_new(r, "rolled_back", json_boolean(e->rolled_back));
    json_object_set_new(r, "shadow", shadow_json(e, now));
    return r;
}

/* Degraded while something the operator chose is not what runs: a file
 * refused, a rule quarantined or rolled back, a shadow refused or
 * retired, or the worker down. */
static int rules_degraded(const s6_rule_registry *g, int alive)
{
    int bad = g->last_error[0] != '\0' || !alive;
    for (int i = 0; i < g->n && !bad; i++) {
        const s6_rule_entry *e = &g->rules[i];
        bad = e->present && (e->quarantined || e->rolled_back ||
                             (e->shadow_present && e->shadow_error[0]));
    }
    return bad;
}

json_t *s6_rules_svc_health(const s6_rules_svc *rs)
{
    json_t *list = json_array();
    uint64_t now = now_ms();
    unsigned shadows = 0;
    for (int i = 0; i < rs->reg.n; i++) {
        const s6_rule_entry *e = &rs->reg.rules[i];
        shadows += e->shadow != NULL;
        if (e->good == NULL && e->last_error[0] == '\0')
            continue;
        json_array_append_new(list, rule_json(e, now));
    }
    const s6_rule_registry *g = &rs->reg;
    int alive = g->live != NULL && s6_ruleset_alive(g->live);
    int degraded = rules_degraded(g, alive);
    json_t *doc = json_pack(
        "{s:b,s:s,s:I,s:o,s:I,s:I,s:I,s:I,s:{s:s,s:b,s:I},s:s?}", "ok",
        !degraded, "status", degraded ? "degraded" : "ok", "set_version",
        (json_int_t)g->version, "rules", list, "reloads",
        (json_int_t)g->reloads, "reload_failures",
        (json_int_t)g->reload_failures, "rollbacks", (json_int_t)g->rollbacks,
        "quarantines", (json_int_t)g->quarantines, "worker", "mode",
        g->opts.worker_exe != NULL ? "process" : "in_process", "alive", alive,
        "restarts", (json_int_t)g->restarts, "last_error",
        g->last_error[0] ? g->last_error : NULL);
    json_object_set_new(doc, "shadows", json_integer(shadows));
    json_object_set_new(doc, "promotions", json_integer(g->promotions));
    json_object_set_new(doc, "clean_batches", json_integer(g->clean_batches));
    return doc;
}

void s6_rules_svc_stop(s6_rules_svc *rs)
{
    rs->stopping = 1; /* a trial in flight is dropped when it returns */
    s6_rules_svc_cancel(rs);
    if (rs->watching)
        s6_watch_stop(&rs->watch);
    rs->watching = 0;
}

void s6_rules_svc_free(s6_rules_svc *rs)
{
    s6_rules_svc_cancel(rs); /* the batch in flight first: it uses the set */
    s6_ruleset_free(rs->pset);
    rs->pset = NULL;
    s6_shadow_free(&rs->shadow);
    s6_registry_free(&rs->reg);
    s6_watchdog_stop(rs->wd);
    rs->wd = NULL;
}

int s6_rules_check(const s6_rules_svc_config *cfg, FILE *out)
{
    s6_log quiet;
    s6_log_init(&quiet, S6_LOG_OFF);
    s6_rules_svc rs = {.log = &quiet};
    char err[1024] = "";
    int rc = open_registry(&rs, cfg, err, sizeof err);
    int failed = 0;
    for (int i = 0; i < rs.reg.n; i++) {
        const s6_rule_entry *e = &rs.reg.rules[i];
        if (e->good != NULL)
            fprintf(out, "ok    %-24s %s\n", e->name, e->hash);
        else if (++failed)
            fprintf(out, "FAIL  %s\n", e->last_error);
        if (e->shadow != NULL)
            fprintf(out, "ok    %-24s %s (shadow)\n", e->name,
                    e->shadow_hash);
        else if (e->shadow_present && e->shadow_error[0] && ++failed)
            fprintf(out, "FAIL  %s\n", e->shadow_error);
    }
    if (rs.reg.scan_note[0] && ++failed)
        fprintf(out, "FAIL  %s\n", rs.reg.scan_note);
    if (rc != 0 && failed == 0)
        fprintf(out, "FAIL  %s\n", err[0] ? err : cfg->rules_dir);
    else if (rc == 0 && failed == 0)
        fprintf(out, "%d rule(s) pass the contract, the probe on canned "
                     "positions and their self-checks\n", rs.reg.n);
    s6_rules_svc_free(&rs);
    return rc == 0 && failed == 0 ? 0 : 1;
}
