/* One compiled version of the rule set in its own capped Lua state. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/ruleset.h"
#include "core/s6_core.h"
#include "rules/watchdog.h"

enum { S6_MAX_RULES = 64 };

struct s6_ruleset {
    lua_State *L;
    s6_ruleset_opts opts;
    lua_Alloc base_alloc;   /* restored before lua_close */
    void *base_ud;
    int64_t used;           /* bytes allocated through the cap */
    int host_ref;           /* the s6.host module table */
    int eval_ref;           /* host.evaluate_batch */
    int nrules;
    int ids[S6_MAX_RULES];  /* Lua rule index - 1 -> stable rule id */
};

static void fmt(char *buf, size_t len, const char *f, ...)
{
    if (buf == NULL || len == 0)
        return;
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, len, f, ap);
    va_end(ap);
}

/*
 * The memory cap: Lua sees an allocation failure as "not enough memory",
 * which unwinds like any error.  Frees always succeed.
 */
static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    s6_ruleset *rs = ud;
    int64_t old = ptr != NULL ? (int64_t)osize : 0;
    if (nsize > (size_t)old &&
        rs->used - old + (int64_t)nsize > (int64_t)rs->opts.mem_limit)
        return NULL;
    void *p = rs->base_alloc(rs->base_ud, ptr, osize, nsize);
    if (p != NULL || nsize == 0)
        rs->used += (int64_t)nsize - old;
    return p;
}

/*
 * Calls the function below nargs arguments on the stack under the watchdog.
 * Returns 0, or -1 with the error message on the stack (an overrun sets
 * *overrun and pushes its own message when the hook landed in C code).
 */
static int guarded_call(s6_ruleset *rs, int nargs, int nres, uint32_t ms,
                        int *overrun)
{
    s6_watchdog *w = rs->opts.watchdog;
    if (w != NULL)
        (void)s6_watchdog_arm(w, rs->L, ms > 0 ? ms : 1);
    int rc = lua_pcall(rs->L, nargs, nres, 0);
    int fired = w != NULL ? s6_watchdog_disarm(w) == 1 : 0;
    *overrun = fired;
    if (rc == 0 && !fired)
        return 0;
    if (rc == 0) {
        lua_pop(rs->L, nres);
        lua_pushfstring(rs->L, "rule evaluation exceeded its deadline of %d ms",
                        (int)ms);
    }
    return -1;
}

static int set_package_path(lua_State *L, const char *dir)
{
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    return 0;
}

/* Loads the trusted host module; its table stays referenced. */
static int load_host(s6_ruleset *rs, char *err, size_t errlen)
{
    lua_State *L = rs->L;
    int overrun = 0;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "s6.host");
    if (guarded_call(rs, 1, 1, rs->opts.load_deadline_ms, &overrun) != 0) {
        fmt(err, errlen, "loading the trusted host (lua/s6/host.lua): %s",
            lua_tostring(L, -1));
        return S6_EINVAL;
    }
    lua_getfield(L, -1, "evaluate_batch");
    rs->eval_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    rs->host_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return S6_OK;
}

/* Pushes host[name] ready to be called. */
static void push_host_fn(s6_ruleset *rs, const char *name)
{
    lua_rawgeti(rs->L, LUA_REGISTRYINDEX, rs->host_ref);
    lua_getfield(rs->L, -1, name);
    lua_remove(rs->L, -2);
}

static int set_regimes(s6_ruleset *rs, char *err, size_t errlen)
{
    int overrun = 0;
    push_host_fn(rs, "set_regimes");
    lua_createtable(rs->L, (int)rs->opts.n_regimes, 0);
    for (size_t i = 0; i < rs->opts.n_regimes; i++) {
        lua_pushstring(rs->L, rs->opts.regimes[i]);
        lua_rawseti(rs->L, -2, (int)i + 1);
    }
    if (guarded_call(rs, 1, 0, rs->opts.load_deadline_ms, &overrun) != 0) {
        fmt(err, errlen, "setting regimes: %s", lua_tostring(rs->L, -1));
        return S6_EINVAL;
    }
    return S6_OK;
}

static int add_rule(s6_ruleset *rs, const s6_rule_src *r, char *err,
                    size_t errlen)
{
    lua_State *L = rs->L;
    int overrun = 0;
    if (rs->nrules >= S6_MAX_RULES) {
        fmt(err, errlen, "%s: more than %d rules", r->chunkname, S6_MAX_RULES);
        return S6_ERANGE;
    }
    push_host_fn(rs, "add_rule");
    lua_pushinteger(L, r->id);
    lua_pushstring(L, r->name);
    lua_pushstring(L, r->chunkname);
    lua_pushlstring(L, r->source, r->len);
    if (r->params_json != NULL)
        lua_pushstring(L, r->params_json);
    else
        lua_pushnil(L);
    if (guarded_call(rs, 5, 0, rs->opts.load_deadline_ms, &overrun) != 0) {
        fmt(err, errlen, "%s%s", overrun ? "while loading: " : "",
            lua_tostring(L, -1));
        lua_pop(L, 1);
        return S6_EINVAL;
    }
    rs->ids[rs->nrules++] = r->id;
    return S6_OK;
}

static int build(s6_ruleset *rs, const s6_rule_src *rules, size_t n,
                 char *err, size_t errlen)
{
    rs->L = luaL_newstate();
    if (rs->L == NULL) {
        fmt(err, errlen, "cannot create a Lua state");
        return S6_ERANGE;
    }
    rs->base_alloc = lua_getallocf(rs->L, &rs->base_ud);
    rs->used = (int64_t)lua_gc(rs->L, LUA_GCCOUNT, 0) * 1024;
    lua_setallocf(rs->L, capped_alloc, rs);
    luaL_openlibs(rs->L);
    set_package_path(rs->L, rs->opts.lua_dir);
    int rc = load_host(rs, err, errlen);
    if (rc == 0)
        rc = set_regimes(rs, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add_rule(rs, &rules[i], err, errlen);
    return rc;
}

static const char *const default_regimes[] = {"normal"};

int s6_ruleset_new(const s6_ruleset_opts *opts, const s6_rule_src *rules,
                   size_t n, s6_ruleset **out, char *err, size_t errlen)
{
    if (out == NULL)
        return S6_EINVAL;
    *out = NULL;
    if (opts == NULL || opts->lua_dir == NULL || opts->mem_limit == 0 ||
        (rules == NULL && n > 0)) {
        fmt(err, errlen, "invalid ruleset options");
        return S6_EINVAL;
    }
    s6_ruleset *rs = calloc(1, sizeof *rs);
    if (rs == NULL)
        return S6_ERANGE;
    rs->opts = *opts;
    if (rs->opts.n_regimes == 0) {
        rs->opts.regimes = default_regimes;
        rs->opts.n_regimes = 1;
    }
    if (rs->opts.load_deadline_ms == 0)
        rs->opts.load_deadline_ms = 1000;
    if (rs->opts.max_faults_per_rule == 0)
        rs->opts.max_faults_per_rule = 1;
    int rc = build(rs, rules, n, err, errlen);
    if (rc != 0) {
        s6_ruleset_free(rs);
        return rc;
    }
    *out = rs;
    return S6_OK;
}

int s6_ruleset_self_check(s6_ruleset *rs, char *err, size_t errlen)
{
    int overrun = 0;
    if (rs == NULL)
        return S6_EINVAL;
    push_host_fn(rs, "self_check");
    if (guarded_call(rs, 0, 0, rs->opts.load_deadline_ms, &overrun) != 0) {
        fmt(err, errlen, "self-check failed: %s", lua_tostring(rs->L, -1));
        lua_pop(rs->L, 1);
        return S6_EINVAL;
    }
    return S6_OK;
}

static int is_oom(const char *msg)
{
    return msg != NULL && strstr(msg, "not enough memory") != NULL;
}

/* Charges the fault to the running (position, rule) and moves past it. */
static void on_fault(s6_ruleset *rs, s6_eval_progress *prog, int overrun,
                     unsigned *faults, s6_eval_report *rep)
{
    const char *msg = lua_tostring(rs->L, -1);
    s6_rule_fault f = {.pos_index = prog->pos, .overrun = overrun};
    int r = prog->rule >= 1 && prog->rule <= rs->nrules ? prog->rule : 1;
    f.rule_id = rs->ids[r - 1];
    fmt(f.message, sizeof f.message, "%s", msg != NULL ? msg : "error");
    lua_pop(rs->L, 1);
    if (overrun)
        rep->overruns++;
    else
        rep->errors++;
    if (is_oom(f.message)) {
        rep->oom++;
        lua_gc(rs->L, LUA_GCCOLLECT, 0);
    }
    if (overrun || ++faults[r - 1] >= rs->opts.max_faults_per_rule)
        prog->skip[r - 1] = 1;
    if (rs->opts.on_fault != NULL)
        rs->opts.on_fault(rs->opts.fault_ud, &f);
    if (++prog->rule > rs->nrules) {
        prog->pos++;
        prog->rule = 1;
    }
}

static uint32_t batch_budget(const s6_ruleset *rs, size_t remaining)
{
    double ms = rs->opts.deadline_ms +
                rs->opts.deadline_us_per_eval * (double)remaining / 1000.0;
    return ms > 4e9 ? UINT32_MAX : (uint32_t)ms + 1;
}

int s6_ruleset_eval(s6_ruleset *rs, const s6_pos_view *pos,
                    const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                    s6_state_store *store, s6_eval_report *report)
{
    if (rs == NULL || (n > 0 && (pos == NULL || mkt == NULL)) ||
        sink == NULL || store == NULL || n > (size_t)INT32_MAX)
        return S6_EINVAL;
    s6_eval_report rep = {0};
    s6_eval_progress prog = {.pos = 0, .rule = 1};
    unsigned faults[S6_MAX_RULES] = {0};
    while ((size_t)prog.pos < n) {
        int overrun = 0;
        lua_rawgeti(rs->L, LUA_REGISTRYINDEX, rs->eval_ref);
        lua_pushlightuserdata(rs->L, (void *)pos);
        lua_pushlightuserdata(rs->L, (void *)mkt);
        lua_pushinteger(rs->L, (lua_Integer)n);
        lua_pushlightuserdata(rs->L, sink);
        lua_pushlightuserdata(rs->L, store);
        lua_pushlightuserdata(rs->L, &prog);
        if (guarded_call(rs, 6, 0, batch_budget(rs, n - (size_t)prog.pos),
                         &overrun) != 0)
            on_fault(rs, &prog, overrun, faults, &rep);
    }
    rep.positions = n;
    if (report != NULL)
        *report = rep;
    return S6_OK;
}

int s6_ruleset_set_slot(s6_ruleset *rs, int slot, const char *id,
                        const char *symbol)
{
    int overrun = 0;
    if (rs == NULL || slot < 0 || id == NULL || symbol == NULL)
        return S6_EINVAL;
    push_host_fn(rs, "set_slot");
    lua_pushinteger(rs->L, slot);
    lua_pushstring(rs->L, id);
    lua_pushstring(rs->L, symbol);
    if (guarded_call(rs, 3, 0, rs->opts.load_deadline_ms, &overrun) != 0) {
        lua_pop(rs->L, 1);
        return S6_EINVAL;
    }
    return S6_OK;
}

size_t s6_ruleset_mem_used(const s6_ruleset *rs)
{
    return rs != NULL && rs->used > 0 ? (size_t)rs->used : 0;
}

void s6_ruleset_free(s6_ruleset *rs)
{
    if (rs == NULL)
        return;
    if (rs->L != NULL) {
        /* Blocks allocated through the cap are freed by the same base
         * allocator, so restoring it first is safe and lets lua_close run
         * without our bookkeeping. */
        lua_setallocf(rs->L, rs->base_alloc, rs->base_ud);
        lua_close(rs->L);
    }
    free(rs);
}
