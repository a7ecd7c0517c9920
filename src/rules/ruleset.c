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
#include "rules/remote.h"
#include "rules/watchdog.h"

enum { S6_MAX_RULES = 64 };

struct s6_ruleset {
    s6_remote *remote;      /* the Lua state lives in a worker process */
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
 * Error text for operators: control characters (a terminal escape in a
 * rule's error) are shown as \xNN, never passed on raw.
 */
static void copy_msg(char *dst, size_t len, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(dst + o, len - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    dst[o] = '\0';
}

/*
 * The error object on top of the stack as text, without calling into Lua:
 * its __tostring could fail or allocate while memory is full, and nothing
 * protects this call any more.  Pops it.
 */
static void take_error(lua_State *L, char *msg, size_t len)
{
    size_t n = 0;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n)
                                                   : NULL;
    if (s != NULL)
        copy_msg(msg, len, s, n);
    else if (lua_type(L, -1) == LUA_TNUMBER)
        snprintf(msg, len, "%.17g", lua_tonumber(L, -1));
    else
        snprintf(msg, len, "error object is a %s value",
                 lua_typename(L, lua_type(L, -1)));
    lua_pop(L, 1);
}

/*
 * Calls the function below nargs arguments on the stack under the watchdog.
 * Returns 0, or -1 with the error message in msg (an overrun sets
 * *overrun).
 */
static int guarded_call(s6_ruleset *rs, int nargs, int nres, uint32_t ms,
                        int *overrun, char *msg, size_t msglen)
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
        snprintf(msg, msglen, "rule evaluation exceeded its deadline of %d ms",
                 (int)ms);
    } else {
        take_error(rs->L, msg, msglen);
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
    char msg[512];
    lua_getglobal(L, "require");
    lua_pushliteral(L, "s6.host");
    if (guarded_call(rs, 1, 1, rs->opts.load_deadline_ms, &overrun, msg,
                     sizeof msg) != 0) {
        fmt(err, errlen, "loading the trusted host (lua/s6/host.lua): %s", msg);
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

/* Calls host[name] with the nargs values below on the load deadline. */
static int host_call(s6_ruleset *rs, int nargs, char *msg, size_t msglen)
{
    int overrun = 0;
    return guarded_call(rs, nargs, 0, rs->opts.load_deadline_ms, &overrun,
                        msg, msglen);
}

static int set_limits(s6_ruleset *rs, char *err, size_t errlen)
{
    char msg[512];
    push_host_fn(rs, "set_regimes");
    lua_createtable(rs->L, (int)rs->opts.n_regimes, 0);
    for (size_t i = 0; i < rs->opts.n_regimes; i++) {
        lua_pushstring(rs->L, rs->opts.regimes[i]);
        lua_rawseti(rs->L, -2, (int)i + 1);
    }
    if (host_call(rs, 1, msg, sizeof msg) != 0) {
        fmt(err, errlen, "setting regimes: %s", msg);
        return S6_EINVAL;
    }
    push_host_fn(rs, "set_limits");
    lua_pushinteger(rs->L, (lua_Integer)rs->opts.max_actions);
    lua_pushinteger(rs->L, (lua_Integer)rs->opts.max_state_bytes);
    if (host_call(rs, 2, msg, sizeof msg) != 0) {
        fmt(err, errlen, "setting limits: %s", msg);
        return S6_EINVAL;
    }
    return S6_OK;
}

static int add_rule(s6_ruleset *rs, const s6_rule_src *r, char *err,
                    size_t errlen)
{
    lua_State *L = rs->L;
    int overrun = 0;
    char msg[512];
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
    if (rs->opts.progress != NULL)
        rs->opts.progress->rule = rs->nrules + 1;
    if (guarded_call(rs, 5, 0, rs->opts.load_deadline_ms, &overrun, msg,
                     sizeof msg) != 0) {
        fmt(err, errlen, "%s%s", overrun ? "while loading: " : "", msg);
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
        rc = set_limits(rs, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add_rule(rs, &rules[i], err, errlen);
    return rc;
}

static const char *const default_regimes[] = {"normal"};

static void settle_opts(s6_ruleset_opts *o)
{
    if (o->n_regimes == 0) {
        o->regimes = default_regimes;
        o->n_regimes = 1;
    }
    if (o->load_deadline_ms == 0)
        o->load_deadline_ms = 1000;
    if (o->max_faults_per_rule == 0)
        o->max_faults_per_rule = 1;
    if (o->max_actions == 0)
        o->max_actions = S6_RULE_MAX_ACTIONS;
    if (o->max_state_bytes == 0)
        o->max_state_bytes = S6_RULE_MAX_STATE_BYTES;
}

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
    settle_opts(&rs->opts);
    int rc = rs->opts.worker_exe != NULL
                 ? s6_remote_new(&rs->opts, rules, n, &rs->remote, err, errlen)
                 : build(rs, rules, n, err, errlen);
    if (rc != 0) {
        s6_ruleset_free(rs);
        return rc;
    }
    *out = rs;
    return S6_OK;
}

int s6_ruleset_self_check(s6_ruleset *rs, char *err, size_t errlen)
{
    char msg[512];
    if (rs == NULL)
        return S6_EINVAL;
    if (rs->remote != NULL)
        return s6_remote_self_check(rs->remote, err, errlen);
    push_host_fn(rs, "self_check");
    if (rs->opts.progress != NULL)
        lua_pushlightuserdata(rs->L, rs->opts.progress);
    else
        lua_pushnil(rs->L);
    if (host_call(rs, 1, msg, sizeof msg) != 0) {
        fmt(err, errlen, "self-check failed: %s", msg);
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
                     const char *msg, unsigned *faults, s6_eval_report *rep)
{
    s6_rule_fault f = {.pos_index = prog->pos, .overrun = overrun};
    int r = prog->rule >= 1 && prog->rule <= rs->nrules ? prog->rule : 1;
    f.rule_id = rs->ids[r - 1];
    fmt(f.message, sizeof f.message, "%s", msg);
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
    if (rs->remote != NULL)
        return s6_remote_eval(rs->remote, pos, mkt, n, sink, store, report);
    s6_eval_report rep = {0};
    s6_eval_progress local;
    s6_eval_progress *prog = rs->opts.progress ? rs->opts.progress : &local;
    memset(prog, 0, sizeof *prog);
    prog->rule = 1;
    unsigned faults[S6_MAX_RULES] = {0};
    char msg[512];
    while ((size_t)prog->pos < n) {
        int overrun = 0;
        lua_rawgeti(rs->L, LUA_REGISTRYINDEX, rs->eval_ref);
        lua_pushlightuserdata(rs->L, (void *)pos);
        lua_pushlightuserdata(rs->L, (void *)mkt);
        lua_pushinteger(rs->L, (lua_Integer)n);
        lua_pushlightuserdata(rs->L, sink);
        lua_pushlightuserdata(rs->L, store);
        lua_pushlightuserdata(rs->L, prog);
        if (guarded_call(rs, 6, 0, batch_budget(rs, n - (size_t)prog->pos),
                         &overrun, msg, sizeof msg) != 0)
            on_fault(rs, prog, overrun, msg, faults, &rep);
    }
    rep.positions = n;
    if (report != NULL)
        *report = rep;
    return S6_OK;
}

int s6_ruleset_eval_start(s6_ruleset *rs, const s6_pos_view *pos,
                          const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                          s6_state_store *store, const s6_eval_async *a,
                          s6_eval_call **call)
{
    *call = NULL;
    if (rs != NULL && rs->remote != NULL && a != NULL && a->loop != NULL &&
        (n == 0 || (pos != NULL && mkt != NULL)) && sink != NULL &&
        store != NULL && n <= (size_t)INT32_MAX)
        return s6_remote_eval_start(rs->remote, pos, mkt, n, sink, store, a,
                                    call);
    return s6_ruleset_eval(rs, pos, mkt, n, sink, store, NULL);
}

int s6_ruleset_set_slot(s6_ruleset *rs, int slot, const char *id,
                        const char *symbol)
{
    char msg[512];
    if (rs == NULL || slot < 0 || id == NULL || symbol == NULL)
        return S6_EINVAL;
    if (rs->remote != NULL)
        return s6_remote_set_slot(rs->remote, slot, id, symbol);
    push_host_fn(rs, "set_slot");
    lua_pushinteger(rs->L, slot);
    lua_pushstring(rs->L, id);
    lua_pushstring(rs->L, symbol);
    return host_call(rs, 3, msg, sizeof msg) != 0 ? S6_EINVAL : S6_OK;
}

size_t s6_ruleset_mem_used(const s6_ruleset *rs)
{
    if (rs != NULL && rs->remote != NULL)
        return s6_remote_mem_used(rs->remote);
    return rs != NULL && rs->used > 0 ? (size_t)rs->used : 0;
}

int s6_ruleset_alive(const s6_ruleset *rs)
{
    return rs != NULL && (rs->remote == NULL || s6_remote_alive(rs->remote));
}

void s6_ruleset_free(s6_ruleset *rs)
{
    if (rs == NULL)
        return;
    s6_remote_free(rs->remote);
    if (rs->L != NULL) {
        /* Blocks allocated through the cap are freed by the same base
         * allocator, so restoring it first is safe and lets lua_close run
         * without our bookkeeping. */
        lua_setallocf(rs->L, rs->base_alloc, rs->base_ud);
        lua_close(rs->L);
    }
    free(rs);
}
