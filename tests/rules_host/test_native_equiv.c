/*
 * The native-C reference (src/rules/native) against the shipped Lua rules.
 *
 * The real rules/ folder is loaded by the registry, as the service loads it
 * (sandbox, memory cap, watchdog), and evaluated over seeded positions of
 * both sides for several rounds with a moving market: ROE on and around
 * every threshold (exactly at it too), ATR known, zero and unknown (NaN),
 * signals of either side, stagnation durations across T (exactly T too).
 * After every round both paths must have proposed the same multiset per
 * position — rule, kind, price and qty bit for bit, fraction, event name,
 * reason — and hold equivalent states: the Lua state's JSON is decoded and
 * compared field by field with the native struct.  Between rounds the
 * proposals are applied crudely (a stop moves the stop, a reduce the
 * quantity, a close reopens the slot, an add the entry), so later steps are
 * reached the same way by both and stored state decides what fires.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rules/native/native_rules.h"
#include "rules/registry.h"
#include "core/s6_core.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "rules/watchdog.h"

enum { NPOS = 3000, ROUNDS = 16, ROUND_S = 600, NKINDS = S6_ACT_HEDGE + 1 };

typedef struct world {
    s6_watchdog *wd;
    s6_rule_registry reg;
    s6_sink lua, nat;
    s6_state_store store;
    s6_native_rules nr;
    int round;
    double start, now;
    uint64_t rng;
    unsigned seen[S6_NATIVE_NRULES][NKINDS]; /* proposals by rule, kind */
    unsigned rearmed;        /* stagnation flags cleared, ROE out of band */
    unsigned at_threshold;   /* positions whose ROE sat exactly on a step */
    s6_native_state st[NPOS];
    s6_pos_view pos[NPOS];
    s6_mkt_view mkt[NPOS];
} world;

/* ---- seeded inputs -------------------------------------------------- */

static double uniform(world *w)
{
    /* splitmix64 */
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

static int pick(world *w, int n) { return (int)(uniform(w) * n); }
static bool chance(world *w, double p) { return uniform(w) < p; }

/* Every threshold of the shipped defaults, on both sides of zero, and
 * values just inside them: trailing 10%/20%, ladder 12%, adds 5%/10%,
 * stagnation band 2%. */
static const double ROE_GRID[] = {
    -0.30, -0.12, -0.05, -0.02, -0.0199, -0.01, 0.0, 0.01, 0.0199, 0.02,
    0.0499, 0.05, 0.0999, 0.10, 0.1199, 0.12, 0.1999, 0.20, 0.25, 0.40};

/* Moves the market to the given ROE: the mark from it, and the view's ROE
 * what the host computes from the mark or, on the grid, exactly the
 * threshold (the computed one may miss it by an ulp). */
static void set_roe(world *w, int i, double roe, bool exact)
{
    s6_pos_view *p = &w->pos[i];
    s6_mkt_view *m = &w->mkt[i];
    m->mark = p->entry + p->side * roe * p->margin / p->qty;
    if (!(m->mark > 0))
        m->mark = p->entry * 0.5;
    p->roe = s6_roe(p->side, p->qty, p->entry, m->mark, p->margin);
    if (exact && fabs(p->roe - roe) < 1e-9) {
        p->roe = roe;
        w->at_threshold++;
    }
    p->upnl = s6_upnl(p->side, p->qty, p->entry, m->mark);
    m->last = m->mid = m->mark;
    if (p->best_price == 0 || p->side * (m->mark - p->best_price) > 0)
        p->best_price = m->mark;
}


static const int TRIGGERS[] = {S6_TRIG_TICK, S6_TRIG_TICK, S6_TRIG_PRICE,
                               S6_TRIG_FILL, S6_TRIG_SIGNAL};

static void move_market(world *w, int i)
{
    s6_mkt_view *m = &w->mkt[i];
    const s6_pos_view *p = &w->pos[i];
    m->now = w->now;
    m->health = 1;
    m->trigger = TRIGGERS[pick(w, 5)];
    m->signal_side = pick(w, 3) - 1;
    m->signal_strength = m->signal_side != 0 ? uniform(w) : 0;
    double u = uniform(w);
    m->atr = u < 0.2 ? NAN : u < 0.3 ? 0 : p->entry * (0.001 + 0.02 * uniform(w));
    if (chance(w, 0.4))
        set_roe(w, i, ROE_GRID[pick(w, sizeof ROE_GRID / sizeof ROE_GRID[0])], true);
    else
        set_roe(w, i, p->roe + (uniform(w) - 0.4) * 0.1, false);
}

/* Entry fills: none, one (sometimes the whole position), or a split. */
static void set_entries(world *w, s6_pos_view *p)
{
    p->n_entries = pick(w, 20) == 0 ? 0 : 1 + pick(w, 3);
    double left = p->qty;
    for (int k = 0; k < p->n_entries; k++) {
        bool last = k == p->n_entries - 1;
        p->entry_qty[k] = last ? left : left * (0.3 + 0.5 * uniform(w));
        left -= p->entry_qty[k];
    }
    if (p->n_entries == 1 && chance(w, 0.3))
        p->entry_qty[0] = p->qty * 1.5; /* a fill larger than what is left */
}

static void open_position(world *w, int i)
{
    s6_pos_view *p = &w->pos[i];
    double leverage = 2 + pick(w, 19);
    *p = (s6_pos_view){.slot = i, .market = S6_MARKET_FUT,
                       .side = chance(w, 0.5) ? 1 : -1,
                       .entry = 10 + 990 * uniform(w),
                       .qty = 0.01 + 5 * uniform(w), .leverage = leverage,
                       .exit_fee_rate = chance(w, 0.8) ? 0.0004 : 0,
                       .liq_distance = INFINITY};
    if (chance(w, 0.15)) { /* a SPOT book with a target: the hedge rule's */
        p->market = S6_MARKET_SPOT;
        p->side = 1;
        p->target_exposure = p->qty * p->entry * (2.5 * uniform(w) - 0.5);
        p->hedge_qty = -p->qty * uniform(w);
    }
    p->margin = p->qty * p->entry / leverage;
    p->fees_paid = chance(w, 0.8) ? p->qty * p->entry * 0.0004 : 0;
    /* an open time that puts the duration exactly at T in some round */
    int k = pick(w, ROUNDS + 8);
    p->opened_at = w->start + (double)k * ROUND_S - 14400 - (chance(w, 0.3) ? 0.5 : 0);
    p->add_on_count = pick(w, 8) == 0 ? 1 + pick(w, 2) : 0;
    p->last_add_at = p->add_on_count > 0 ? w->now - 300 * pick(w, 3) : 0;
    p->stop_step = pick(w, 6) == 0 ? 1 + pick(w, 3) : 0;
    p->tp_step = pick(w, 8) == 0 ? 1 : 0;
    if (chance(w, 0.4)) /* a stop already in place, loose or tight */
        p->stop = p->entry * (1 - p->side * 0.1 * uniform(w));
    set_entries(w, p);
    memset(&w->st[i], 0, sizeof w->st[i]);
    s6_state_store_clear_slot(&w->store, i);
}

/* ---- both paths ----------------------------------------------------- */

static void eval_both(world *w)
{
    s6_eval_report rep;
    s6_sink_reset(&w->lua);
    s6_sink_reset(&w->nat);
    assert_int_equal(s6_ruleset_eval(w->reg.live, w->pos, w->mkt, NPOS,
                                     &w->lua, &w->store, &rep), 0);
    assert_int_equal(rep.errors + rep.overruns, 0);
    assert_int_equal(rep.positions, NPOS);
    assert_int_equal(s6_native_eval(&w->nr, w->pos, w->mkt, NPOS, &w->nat,
                                    w->st), 0);
    assert_int_equal(w->lua.dropped, 0);
    assert_int_equal(w->nat.dropped, 0);
}

/* Absent fields are NaN on both sides (with different NaN bits: Lua's
 * 0/0 is negative); present ones must be the same bits. */
static int cmp_num(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(b) - isnan(a);
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return (x > y) - (x < y);
}

static int cmp_proposal(const void *va, const void *vb)
{
    const s6_proposal *a = va, *b = vb;
    int c = (a->pos_index > b->pos_index) - (a->pos_index < b->pos_index);
    if (c == 0)
        c = (a->rule_index > b->rule_index) - (a->rule_index < b->rule_index);
    if (c == 0)
        c = (a->kind > b->kind) - (a->kind < b->kind);
    if (c == 0)
        c = cmp_num(a->price, b->price);
    if (c == 0)
        c = cmp_num(a->qty, b->qty);
    if (c == 0)
        c = cmp_num(a->fraction, b->fraction);
    if (c == 0)
        c = strcmp(a->name, b->name);
    return c != 0 ? c : strcmp(a->reason, b->reason);
}

static void print_proposal(const char *who, const s6_proposal *p)
{
    print_message("  %-6s pos %d rule %d kind %d price %.17g qty %.17g "
                  "fraction %.17g name '%s' reason '%s'\n", who, p->pos_index,
                  p->rule_index, p->kind, p->price, p->qty, p->fraction,
                  p->name, p->reason);
}

static void print_position(const world *w, int i)
{
    const s6_pos_view *p = &w->pos[i];
    const s6_mkt_view *m = &w->mkt[i];
    print_message("  position %d: side %d qty %.17g entry %.17g margin %.17g "
                  "roe %.17g stop %.17g stop_step %d tp_step %d adds %d "
                  "mark %.17g atr %g trigger %d signal %d now %.17g\n", i,
                  p->side, p->qty, p->entry, p->margin, p->roe, p->stop,
                  p->stop_step, p->tp_step, p->add_on_count, m->mark, m->atr,
                  m->trigger, m->signal_side, m->now);
}

static void same_proposals(world *w)
{
    qsort(w->lua.v, w->lua.n, sizeof *w->lua.v, cmp_proposal);
    qsort(w->nat.v, w->nat.n, sizeof *w->nat.v, cmp_proposal);
    size_t n = w->lua.n < w->nat.n ? w->lua.n : w->nat.n;
    for (size_t k = 0; k < n; k++) {
        const s6_proposal *a = &w->lua.v[k], *b = &w->nat.v[k];
        if (cmp_proposal(a, b) != 0) {
            print_message("round %d: proposal %zu differs\n", w->round, k);
            print_proposal("lua", a);
            print_proposal("native", b);
            print_position(w, a->pos_index);
            fail();
        }
    }
    if (w->lua.n != w->nat.n) {
        print_message("round %d: %zu Lua proposals, %zu native\n", w->round,
                      w->lua.n, w->nat.n);
        const s6_proposal *extra = w->lua.n > n ? &w->lua.v[n] : &w->nat.v[n];
        print_proposal(w->lua.n > n ? "lua" : "native", extra);
        print_position(w, extra->pos_index);
        fail();
    }
}

/* ---- state equivalence ---------------------------------------------- */

static double add_on_field(const s6_native_state *s) { return s->add_on.proposed_at; }
static double stagnation_field(const s6_native_state *s) { return s->stagnation.flagged; }
static double tp_field(const s6_native_state *s) { return s->tp_ladder.step; }
static double trailing_field(const s6_native_state *s) { return s->trailing_stop.step; }

/* The one field each rule's Lua state may hold, and the native struct
 * field it mirrors; an absent key reads as 0 / false on both sides. */
static const struct {
    const char *key;
    double (*native)(const s6_native_state *);
} STATE_FIELD[S6_NATIVE_NRULES] = {
    [S6_NATIVE_ADD_ON] = {"proposed_at", add_on_field},
    [S6_NATIVE_ATR_STOP] = {NULL, NULL}, /* stateless */
    [S6_NATIVE_HEDGE] = {NULL, NULL},    /* stateless */
    [S6_NATIVE_STAGNATION] = {"flagged", stagnation_field},
    [S6_NATIVE_TP_LADDER] = {"step", tp_field},
    [S6_NATIVE_TRAILING_STOP] = {"step", trailing_field},
};

static json_t *lua_state(world *w, int slot, int rule)
{
    size_t len = 0;
    const char *js = s6_state_get(&w->store, slot, w->nr.rule_id[rule], &len);
    if (js == NULL)
        return json_object();
    json_error_t err;
    json_t *o = json_loadb(js, len, 0, &err);
    if (!json_is_object(o))
        fail_msg("slot %d rule %s: state '%.*s' is not a JSON object", slot,
                 s6_native_rule_name(rule), (int)len, js);
    return o;
}

static double json_field(json_t *v)
{
    if (v == NULL)
        return 0;
    if (json_is_boolean(v))
        return json_is_true(v);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void same_state(world *w, int slot, int rule)
{
    json_t *o = lua_state(w, slot, rule);
    const char *key = STATE_FIELD[rule].key;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (key == NULL || strcmp(k, key) != 0)
            fail_msg("slot %d rule %s: unexpected state field '%s'", slot,
                     s6_native_rule_name(rule), k);
    }
    if (key != NULL) {
        double lua = json_field(json_object_get(o, key));
        double nat = STATE_FIELD[rule].native(&w->st[slot]);
        if (lua != nat) {
            print_message("round %d: slot %d %s.%s: Lua %.17g, native %.17g\n",
                          w->round, slot, s6_native_rule_name(rule), key, lua,
                          nat);
            print_position(w, slot);
            fail();
        }
    }
    json_decref(o);
}

static void same_states(world *w)
{
    for (int i = 0; i < NPOS; i++)
        for (int r = 0; r < S6_NATIVE_NRULES; r++)
            same_state(w, i, r);
}

/* ---- applying the round's proposals, crudely ------------------------ */

typedef struct outcome {
    double stop;       /* tightest proposed stop, 0 = none */
    int stop_rule;
    bool close;
    double reduce_qty, reduce_fraction, add;
    double hedge;      /* signed futures quantity */
} outcome;

static int native_rule_of(const world *w, int id)
{
    for (int r = 0; r < S6_NATIVE_NRULES; r++)
        if (w->nr.rule_id[r] == id)
            return r;
    fail_msg("proposal from unknown rule id %d", id);
    return -1;
}

static void collect(world *w, outcome *out)
{
    for (size_t k = 0; k < w->lua.n; k++) {
        const s6_proposal *p = &w->lua.v[k];
        outcome *o = &out[p->pos_index];
        int side = w->pos[p->pos_index].side;
        w->seen[native_rule_of(w, p->rule_index)][p->kind]++;
        if (p->kind == S6_ACT_STOP && (o->stop == 0 || side * (p->price - o->stop) > 0)) {
            o->stop = p->price;
            o->stop_rule = native_rule_of(w, p->rule_index);
        }
        o->close |= p->kind == S6_ACT_CLOSE;
        if (p->kind == S6_ACT_REDUCE) {
            o->reduce_qty = isnan(p->qty) ? 0 : p->qty;
            o->reduce_fraction = isnan(p->fraction) ? 0 : p->fraction;
        }
        if (p->kind == S6_ACT_ADD)
            o->add = p->qty;
        if (p->kind == S6_ACT_HEDGE)
            o->hedge = p->qty;
    }
}

static void apply_reduce(world *w, int i, const outcome *o)
{
    s6_pos_view *p = &w->pos[i];
    double left = o->reduce_qty > 0 ? p->qty - o->reduce_qty
                                    : p->qty * (1 - o->reduce_fraction);
    p->margin *= left / p->qty;
    p->qty = left;
    p->tp_step = w->st[i].tp_ladder.step;
}

static void apply_add(world *w, int i, double q)
{
    s6_pos_view *p = &w->pos[i];
    double mark = w->mkt[i].mark;
    p->entry = s6_avg_entry_after_add(p->qty, p->entry, q, mark);
    p->margin += q * mark / p->leverage;
    p->qty += q;
    if (p->n_entries < S6_MAX_ENTRIES)
        p->entry_qty[p->n_entries++] = q;
    p->add_on_count++;
    p->last_add_at = w->now;
}

static void apply(world *w, int i, const outcome *o)
{
    s6_pos_view *p = &w->pos[i];
    if (o->close) {
        open_position(w, i);
        return;
    }
    /* some moves the host could not place: the rule must propose again */
    if (o->stop != 0 && chance(w, 0.8)) {
        p->stop = o->stop;
        if (o->stop_rule == S6_NATIVE_TRAILING_STOP)
            p->stop_step = w->st[i].trailing_stop.step;
    }
    if (o->hedge != 0 && chance(w, 0.7)) /* its fill, now and then */
        p->hedge_qty += o->hedge;
    if (o->reduce_qty > 0 || o->reduce_fraction > 0)
        apply_reduce(w, i, o);
    else if (o->add > 0 && chance(w, 0.7))
        apply_add(w, i, o->add);
}

static void apply_all(world *w)
{
    outcome *out = calloc(NPOS, sizeof *out);
    assert_non_null(out);
    collect(w, out);
    for (int i = 0; i < NPOS; i++)
        apply(w, i, &out[i]);
    free(out);
}

/* ---- the test ------------------------------------------------------- */

static void load_shipped_rules(world *w)
{
    const char *src = getenv("S6_SOURCE_DIR");
    static char lua_dir[512], rules_dir[512];
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", src ? src : ".");
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", src ? src : ".");
    s6_ruleset_opts o = {.lua_dir = lua_dir, .mem_limit = 64u << 20,
                         .deadline_ms = 2000, .deadline_us_per_eval = 100,
                         .load_deadline_ms = 5000, .max_faults_per_rule = 1,
                         .watchdog = w->wd};
    char err[512] = "";
    assert_int_equal(s6_registry_init(&w->reg, rules_dir, &o), 0);
    if (s6_registry_load(&w->reg, err, sizeof err) != 0)
        fail_msg("loading %s: %s", rules_dir, err);
    /* the reference covers every shipped rule, under the registry's ids */
    if (s6_native_rules_bind(&w->nr, &w->reg) != 0)
        fail_msg("%s holds %d rules, not the %d of the native reference",
                 rules_dir, w->reg.n, S6_NATIVE_NRULES);
}

static uint64_t seed(void)
{
    const char *s = getenv("S6_EQUIV_SEED");
    return s != NULL ? strtoull(s, NULL, 0) : 0x5e6d2026ull;
}

static void count_rearms(world *w, const bool *was_flagged)
{
    for (int i = 0; i < NPOS; i++)
        w->rearmed += was_flagged[i] && !w->st[i].stagnation.flagged;
}

static void run_rounds(world *w)
{
    static bool flagged[NPOS];
    for (w->round = 0; w->round < ROUNDS; w->round++) {
        w->now = w->start + (double)w->round * ROUND_S;
        for (int i = 0; i < NPOS; i++) {
            move_market(w, i);
            flagged[i] = w->st[i].stagnation.flagged;
        }
        eval_both(w);
        same_proposals(w);
        same_states(w);
        count_rearms(w, flagged);
        apply_all(w);
    }
}

static void native_matches_lua(void **state)
{
    (void)state;
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->rng = seed();
    print_message("seed 0x%llx (S6_EQUIV_SEED overrides)\n",
                  (unsigned long long)w->rng);
    w->start = w->now = 1.7e9;
    assert_int_equal(s6_watchdog_start(&w->wd), 0);
    assert_int_equal(s6_sink_init(&w->lua, 8 * NPOS), 0);
    assert_int_equal(s6_sink_init(&w->nat, 8 * NPOS), 0);
    assert_int_equal(s6_state_store_init(&w->store, NPOS, S6_NATIVE_NRULES), 0);
    s6_native_rules_init(&w->nr);
    load_shipped_rules(w);
    for (int i = 0; i < NPOS; i++) {
        assert_int_equal(s6_ruleset_set_slot(w->reg.live, i, "pos", "BTCUSDT"), 0);
        open_position(w, i);
    }
    run_rounds(w);

    /* the inputs reached every kind of proposal and transition, so the
     * comparison above compared something */
    static const int wanted[][2] = {
        {S6_NATIVE_ADD_ON, S6_ACT_ADD},         {S6_NATIVE_ATR_STOP, S6_ACT_STOP},
        {S6_NATIVE_STAGNATION, S6_ACT_EVENT},   {S6_NATIVE_TP_LADDER, S6_ACT_REDUCE},
        {S6_NATIVE_TP_LADDER, S6_ACT_CLOSE},    {S6_NATIVE_TRAILING_STOP, S6_ACT_STOP},
        {S6_NATIVE_HEDGE, S6_ACT_HEDGE}};
    for (size_t k = 0; k < sizeof wanted / sizeof wanted[0]; k++) {
        unsigned n = w->seen[wanted[k][0]][wanted[k][1]];
        print_message("%-13s kind %d: %u proposals\n",
                      s6_native_rule_name(wanted[k][0]), wanted[k][1], n);
        assert_true(n >= 20);
    }
    print_message("stagnation re-armed %u times; %u views at a threshold\n",
                  w->rearmed, w->at_threshold);
    assert_true(w->rearmed >= 5);
    assert_true(w->at_threshold >= 1000);

    s6_registry_free(&w->reg);
    s6_sink_free(&w->lua);
    s6_sink_free(&w->nat);
    s6_state_store_free(&w->store);
    s6_watchdog_stop(w->wd);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(native_matches_lua),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
