/*
 * edge.c — s6_rules_edge over the Lua rule service and over the
 * native reference (rules_edge.h).
 */
#include "rules/edge.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/service.h"
#include "rules/native/native_rules.h"

enum { SINK_LIMIT = 1 << 20 };

static int fail(char *err, size_t errlen, int rc, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return rc;
}

/* ================= the Lua rule service ================= */

typedef struct slot_name {
    char id[64];
    char symbol[32];
} slot_name;

typedef struct lua_edge {
    s6_rules_svc *svc;
    s6_sink sink;
    s6_state_store store;
    int nslots;
    slot_name *names;         /* what the live set was told, by slot; grown
                                 to the highest slot named (n_names) */
    int n_names;
    const s6_ruleset *told;   /* the live set they were told to */
} lua_edge;

static void retell(lua_edge *l, s6_ruleset *live);

static int lua_run(void *ud, const s6_pos_view *pos, const s6_mkt_view *mkt,
                   size_t n, const s6_decide_hooks *hooks,
                   s6_decide_stats *stats)
{
    lua_edge *l = ud;
    if (l->told != l->svc->reg.live && l->svc->reg.live != NULL)
        retell(l, l->svc->reg.live);
    return s6_rules_svc_run(l->svc, pos, mkt, n, &l->sink, &l->store, hooks,
                            stats);
}

static int lua_start(void *ud, const s6_pos_view *pos,
                     const s6_mkt_view *mkt, size_t n,
                     const s6_decide_hooks *hooks, s6_decide_stats *stats,
                     void (*done)(void *cb_ud, int rc), void *cb_ud,
                     bool *pending)
{
    lua_edge *l = ud;
    if (l->told != l->svc->reg.live && l->svc->reg.live != NULL)
        retell(l, l->svc->reg.live);
    return s6_rules_svc_run_start(l->svc, pos, mkt, n, &l->sink, &l->store,
                                  hooks, stats, done, cb_ud, pending);
}

static void lua_settle(void *ud)
{
    lua_edge *l = ud;
    s6_rules_svc_settle(l->svc);
}

static void lua_cancel(void *ud)
{
    lua_edge *l = ud;
    s6_rules_svc_cancel(l->svc);
}

/* A new live set (reload, rollback, restarted worker) knows no names yet. */
static void retell(lua_edge *l, s6_ruleset *live)
{
    l->told = live;
    for (int s = 0; s < l->n_names; s++)
        if (l->names[s].id[0] != '\0')
            (void)s6_ruleset_set_slot(live, s, l->names[s].id,
                                      l->names[s].symbol);
}

/* Room for names up to slot: doubled, so a book that fills its slots one
 * by one copies each name a few times at most. */
static int grow_names(lua_edge *l, int slot)
{
    int n = l->n_names ? l->n_names : 64;
    while (n <= slot)
        n *= 2;
    if (n > l->nslots)
        n = l->nslots;
    slot_name *v = realloc(l->names, (size_t)n * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    memset(v + l->n_names, 0, (size_t)(n - l->n_names) * sizeof *v);
    l->names = v;
    l->n_names = n;
    return 0;
}

static void lua_slot_named(void *ud, int slot, const char *id,
                           const char *symbol)
{
    lua_edge *l = ud;
    s6_ruleset *live = l->svc->reg.live;
    if (slot < 0 || slot >= l->nslots || live == NULL)
        return;
    if (l->told != live)
        retell(l, live);
    if (slot >= l->n_names && grow_names(l, slot) != 0)
        return;
    slot_name *n = &l->names[slot];
    if (strcmp(n->id, id) == 0 && strcmp(n->symbol, symbol) == 0)
        return;
    snprintf(n->id, sizeof n->id, "%s", id);
    snprintf(n->symbol, sizeof n->symbol, "%s", symbol);
    (void)s6_ruleset_set_slot(live, slot, n->id, n->symbol);
}

static const s6_rule_entry *lua_rule(const lua_edge *l, int id)
{
    for (int i = 0; i < l->svc->reg.n; i++)
        if (l->svc->reg.rules[i].id == id)
            return &l->svc->reg.rules[i];
    return NULL;
}

static const char *lua_rule_name(void *ud, int id)
{
    const s6_rule_entry *r = lua_rule(ud, id);
    return r != NULL ? r->name : NULL;
}

static char *lua_state_get(void *ud, int slot)
{
    lua_edge *l = ud;
    if (slot < 0 || slot >= l->nslots)
        return NULL;
    json_t *o = json_object();
    for (int id = 0; id < l->store.nrules; id++) {
        size_t len = 0;
        const char *s = s6_state_get(&l->store, slot, id, &len);
        const char *name = lua_rule_name(l, id);
        json_t *v = s != NULL && len > 0 ? json_loadb(s, len, 0, NULL) : NULL;
        if (v != NULL && name != NULL)
            json_object_set_new(o, name, v);
        else
            json_decref(v);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
                                   JSON_REAL_PRECISION(17));
    json_decref(o);
    return text;
}

static int rule_id_by_name(const lua_edge *l, const char *name)
{
    for (int i = 0; i < l->svc->reg.n; i++)
        if (strcmp(l->svc->reg.rules[i].name, name) == 0)
            return l->svc->reg.rules[i].id;
    return -1;
}

static int lua_state_put(void *ud, int slot, const char *json)
{
    lua_edge *l = ud;
    json_t *o = json_loads(json, 0, NULL);
    if (slot < 0 || slot >= l->nslots || !json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    s6_state_store_clear_slot(&l->store, slot);
    const char *name;
    json_t *v;
    json_object_foreach(o, name, v) {
        int id = rule_id_by_name(l, name);
        char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
        /* a rule that is gone keeps nothing; its state has no reader */
        if (id >= 0 && text != NULL)
            s6_state_set(&l->store, slot, id, text, strlen(text));
        free(text);
    }
    json_decref(o);
    return 0;
}

static void lua_state_drop(void *ud, int slot)
{
    lua_edge *l = ud;
    if (slot >= 0 && slot < l->nslots)
        s6_state_store_clear_slot(&l->store, slot);
}

static unsigned lua_state_gen(void *ud, int slot)
{
    lua_edge *l = ud;
    return slot >= 0 && slot < l->nslots ? s6_state_slot_gen(&l->store, slot)
                                         : 0;
}

int s6_rules_edge_lua(struct s6_rules_svc *svc, int nslots,
                      s6_rules_edge *out, char *err, size_t errlen)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (svc == NULL || nslots < 1)
        return fail(err, errlen, -EINVAL, "svc and nslots >= 1 are required");
    lua_edge *l = calloc(1, sizeof *l);
    if (l == NULL)
        return -ENOMEM;
    l->svc = svc;
    l->nslots = nslots;
    if (s6_sink_init(&l->sink, SINK_LIMIT) != 0 ||
        s6_state_store_init(&l->store, nslots, S6_REG_MAX_RULES) != 0) {
        s6_sink_free(&l->sink);
        free(l->names);
        free(l);
        return fail(err, errlen, -ENOMEM, "rule state store: out of memory");
    }
    *out = (s6_rules_edge){.run = lua_run, .start = lua_start,
                           .settle = lua_settle, .cancel = lua_cancel,
                           .state_get = lua_state_get,
                           .state_put = lua_state_put,
                           .state_drop = lua_state_drop,
                           .state_gen = lua_state_gen,
                           .rule_name = lua_rule_name,
                           .slot_named = lua_slot_named, .max_slots = nslots,
                           .ud = l};
    return 0;
}

/* ================= the native reference ================= */

typedef struct native_edge {
    const s6_native_rules *nr;
    s6_sink sink;
    s6_native_state *states;
    unsigned *gens;
    s6_native_state *before; /* the batch's states before the run */
    size_t before_cap;
    int nslots;
} native_edge;

static const char *const native_hashes[S6_NATIVE_NRULES] = {
    "native", "native", "native", "native", "native"};

static int native_rule_of(const native_edge *ne, int id)
{
    for (int r = 0; r < S6_NATIVE_NRULES; r++)
        if (ne->nr->rule_id[r] == id)
            return r;
    return -1;
}

static const char *native_rule_name(void *ud, int id)
{
    int r = native_rule_of(ud, id);
    return r >= 0 ? s6_native_rule_name(r) : NULL;
}

static int native_run(void *ud, const s6_pos_view *pos,
                      const s6_mkt_view *mkt, size_t n,
                      const s6_decide_hooks *hooks, s6_decide_stats *stats)
{
    native_edge *ne = ud;
    if (n > ne->before_cap) {
        s6_native_state *nb = realloc(ne->before, n * sizeof *nb);
        if (nb == NULL)
            return -ENOMEM;
        ne->before = nb;
        ne->before_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        if (pos[i].slot < 0 || pos[i].slot >= ne->nslots)
            return -EINVAL;
        ne->before[i] = ne->states[pos[i].slot];
    }
    s6_sink_reset(&ne->sink);
    int rc = s6_native_eval(ne->nr, pos, mkt, n, &ne->sink, ne->states);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&ne->before[i], &ne->states[pos[i].slot],
                   sizeof ne->before[i]) != 0)
            ne->gens[pos[i].slot]++;
    s6_decide_hooks h = *hooks;
    h.rule_hashes = native_hashes;
    h.n_rule_hashes = S6_NATIVE_NRULES;
    return s6_decide_batch(pos, mkt, n, ne->sink.v, ne->sink.n, &h, stats);
}

static char *native_state_get(void *ud, int slot)
{
    native_edge *ne = ud;
    if (slot < 0 || slot >= ne->nslots)
        return NULL;
    const s6_native_state *s = &ne->states[slot];
    json_t *o = json_object();
    if (s->add_on.proposed_at != 0)
        json_object_set_new(o, "add_on", json_pack("{s:f}", "proposed_at",
                                                   s->add_on.proposed_at));
    if (s->stagnation.flagged)
        json_object_set_new(o, "stagnation", json_pack("{s:b}", "flagged", 1));
    if (s->tp_ladder.step != 0)
        json_object_set_new(o, "tp_ladder", json_pack("{s:i}", "step",
                                                      s->tp_ladder.step));
    if (s->trailing_stop.step != 0)
        json_object_set_new(o, "trailing_stop",
                            json_pack("{s:i}", "step", s->trailing_stop.step));
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
                                   JSON_REAL_PRECISION(17));
    json_decref(o);
    return text;
}

static double num_at(const json_t *o, const char *rule, const char *field)
{
    return json_number_value(json_object_get(json_object_get(o, rule), field));
}

static int native_state_put(void *ud, int slot, const char *json)
{
    native_edge *ne = ud;
    json_t *o = json_loads(json, 0, NULL);
    if (slot < 0 || slot >= ne->nslots || !json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    s6_native_state *s = &ne->states[slot];
    memset(s, 0, sizeof *s);
    s->add_on.proposed_at = num_at(o, "add_on", "proposed_at");
    s->stagnation.flagged = json_is_true(
        json_object_get(json_object_get(o, "stagnation"), "flagged"));
    s->tp_ladder.step = (int)num_at(o, "tp_ladder", "step");
    s->trailing_stop.step = (int)num_at(o, "trailing_stop", "step");
    ne->gens[slot]++;
    json_decref(o);
    return 0;
}

static void native_state_drop(void *ud, int slot)
{
    native_edge *ne = ud;
    if (slot >= 0 && slot < ne->nslots) {
        memset(&ne->states[slot], 0, sizeof ne->states[slot]);
        ne->gens[slot]++;
    }
}

static unsigned native_state_gen(void *ud, int slot)
{
    native_edge *ne = ud;
    return slot >= 0 && slot < ne->nslots ? ne->gens[slot] : 0;
}

int s6_rules_edge_native(const struct s6_native_rules *nr, int nslots,
                         s6_rules_edge *out, char *err, size_t errlen)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (nr == NULL || nslots < 1)
        return fail(err, errlen, -EINVAL, "rules and nslots >= 1 are required");
    native_edge *ne = calloc(1, sizeof *ne);
    if (ne == NULL)
        return -ENOMEM;
    ne->nr = nr;
    ne->nslots = nslots;
    ne->states = calloc((size_t)nslots, sizeof *ne->states);
    ne->gens = calloc((size_t)nslots, sizeof *ne->gens);
    if (ne->states == NULL || ne->gens == NULL ||
        s6_sink_init(&ne->sink, SINK_LIMIT) != 0) {
        free(ne->states);
        free(ne->gens);
        free(ne);
        return fail(err, errlen, -ENOMEM, "native rule state: out of memory");
    }
    *out = (s6_rules_edge){.run = native_run, .state_get = native_state_get,
                           .state_put = native_state_put,
                           .state_drop = native_state_drop,
                           .state_gen = native_state_gen,
                           .rule_name = native_rule_name, .max_slots = nslots,
                           .ud = ne};
    return 0;
}

void s6_rules_edge_free(s6_rules_edge *edge)
{
    if (edge == NULL || edge->ud == NULL)
        return;
    if (edge->run == lua_run) {
        lua_edge *l = edge->ud;
        s6_rules_svc_cancel(l->svc); /* its sink and store go */
        s6_sink_free(&l->sink);
        s6_state_store_free(&l->store);
        free(l->names);
        free(l);
    } else if (edge->run == native_run) {
        native_edge *ne = edge->ud;
        s6_sink_free(&ne->sink);
        free(ne->states);
        free(ne->gens);
        free(ne->before);
        free(ne);
    }
    memset(edge, 0, sizeof *edge);
}
