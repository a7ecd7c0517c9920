/*
 * Run from the source root after `cmake --build build -j2`:
 *   S6_JIT_LOG=/tmp/rules build/s6-bench-rules 10000 20
 *
 * s6-bench-rules [positions [rounds]]
 *
 * The whole shipped rule set (the rules/ folder) over many positions, in one run:
 *   - the native-C reference (src/rules/native): the limit;
 *   - the Lua rule host as the service runs it: the registry's live ruleset,
 *     sandboxed, under the memory cap and the deadline watchdog, one batch
 *     of every position (one C->Lua call), then batches of 100 and of 1
 *     (one call per position), to show what batching is worth;
 *   - the same through a rule worker process (docs/rule-worker.md), as the
 *     service runs it: one crossing of shared memory per batch, timed on
 *     the wall clock (the work is in the other process), beside the
 *     in-process batch on the wall clock, so the boundary's own cost shows.
 * Every pass replays the same seeded market (50 symbols in a random walk,
 * every position on a manage tick, so every rule runs) for the same rounds
 * from fresh rule state; the round's proposals are applied between rounds
 * (stops move, reduces shrink, closes reopen the slot), so steps progress
 * and stored state decides what fires.  Only the evaluation calls are
 * timed.  Each pass is run REPEATS times, interleaved, and the best rate is
 * kept: the machine is shared.
 *
 * Checks (exit 1): every pass makes the same proposals (same count and
 * same checksum), no rule faults.  With S6_JIT_LOG=PREFIX, the trace logs
 * lua/s6/host.lua writes per Lua state (PREFIX.<id>) are read afterwards
 * and any trace abort inside host.lua's hot loop fails the run.  Speed is
 * printed, never judged (docs/performance.md, "Rule host").
 */
#include <glob.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rules/native/native_rules.h"
#include "rules/registry.h"
#include "core/s6_core.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "rules/watchdog.h"

enum { N_SYMBOLS = 50, REPEATS = 3, ROUND_S = 60 };

/* Protection as production runs it: a 64 MiB cap per Lua state and a
 * deadline per batch plus 20 us per position of the batch.  The deadline
 * costs the same whatever its value (an arm and a disarm per call); it is
 * 200 ms rather than the service's 50 because on a shared machine (load
 * average 18 on 2 cores seen here) a descheduled worker would overrun a
 * wall-clock 50 ms and fail the run for a reason that is not the rules'. */
#define MEM_LIMIT (64u << 20)
#define DEADLINE_MS 200
#define DEADLINE_US_PER_EVAL 20.0

typedef struct pass {
    const char *label;
    s6_rule_registry *reg; /* NULL: the native reference */
    size_t batch;
    bool floor;           /* no-op rules: proposes nothing */
    bool wall;            /* timed on the wall clock, not this CPU's */
    double best;          /* evaluations per second, best repeat */
    size_t proposals;     /* per pass, must agree across passes */
    double checksum;
} pass;

typedef struct bench {
    size_t n;
    int rounds;
    uint64_t rng;
    double now;
    double price[N_SYMBOLS];
    s6_pos_view *pos;
    s6_mkt_view *mkt;
    s6_native_state *nst;
    s6_native_rules nr;
    s6_sink sink;
    s6_state_store store;
    s6_rule_registry reg;   /* the shipped rules */
    s6_rule_registry floor; /* the same names, every evaluate a no-op */
    s6_rule_registry worker; /* the shipped rules in a worker process */
    char floor_dir[64];
    s6_watchdog *wd;
    unsigned faults;
} bench;

/* CPU time of the whole process (the watchdog's thread included), not wall
 * time: the machine is shared, and time spent descheduled is nobody's
 * evaluation. */
static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the seeded market --------------------------------------------- */

static double uniform(bench *b)
{
    b->rng ^= b->rng << 13; /* xorshift64 */
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return (double)(b->rng >> 11) * 0x1.0p-53;
}

/* A new position on slot i's symbol, at its price, on a random side. */
static void open_position(bench *b, size_t i)
{
    double price = b->price[i % N_SYMBOLS];
    s6_pos_view *p = &b->pos[i];
    *p = (s6_pos_view){.slot = (int)i, .side = uniform(b) < 0.5 ? 1 : -1,
                       .qty = 0.1 + uniform(b), .leverage = 10,
                       .exit_fee_rate = 0.0004, .liq_distance = INFINITY};
    p->entry = price * (1 + 0.004 * (uniform(b) - 0.5));
    p->margin = p->qty * p->entry / p->leverage;
    p->fees_paid = p->qty * p->entry * 0.0004;
    p->opened_at = b->now - 6 * 3600 * uniform(b);
    p->n_entries = 1;
    p->entry_qty[0] = p->qty * (uniform(b) < 0.5 ? 1 : 0.5);
    p->best_price = p->entry;
}

/* One round of market: prices walk, each position sees its symbol. */
static void move_market(bench *b)
{
    int signal[N_SYMBOLS];
    b->now += ROUND_S;
    for (int s = 0; s < N_SYMBOLS; s++) {
        b->price[s] *= 1 + 0.008 * (uniform(b) - 0.5);
        signal[s] = (int)(uniform(b) * 3) - 1;
    }
    for (size_t i = 0; i < b->n; i++) {
        s6_pos_view *p = &b->pos[i];
        double mark = b->price[i % N_SYMBOLS];
        p->roe = s6_roe(p->side, p->qty, p->entry, mark, p->margin);
        p->upnl = s6_upnl(p->side, p->qty, p->entry, mark);
        if (p->side * (mark - p->best_price) > 0)
            p->best_price = mark;
        b->mkt[i] = (s6_mkt_view){
            .now = b->now, .mark = mark, .last = mark, .mid = mark,
            .atr = i % 20 == 0 ? NAN : mark * 0.003, .health = 1,
            .signal_side = signal[i % N_SYMBOLS], .trigger = S6_TRIG_TICK};
    }
}

/* ---- applying a round's proposals ---------------------------------- */

static void forget(bench *b, size_t i)
{
    memset(&b->nst[i], 0, sizeof b->nst[i]);
    s6_state_store_clear_slot(&b->store, (int)i);
}

static void apply(bench *b, const s6_proposal *a, unsigned char *closed)
{
    size_t i = (size_t)a->pos_index;
    s6_pos_view *p = &b->pos[i];
    if (closed[i])
        return;
    switch (a->kind) {
    case S6_ACT_STOP:
        if (p->stop == 0 || p->side * (a->price - p->stop) > 0)
            p->stop = a->price;
        break;
    case S6_ACT_REDUCE: {
        double left = isnan(a->qty) ? p->qty * (1 - a->fraction) : p->qty - a->qty;
        p->margin *= left / p->qty;
        p->qty = left;
        p->tp_step++;
        break;
    }
    case S6_ACT_CLOSE:
        closed[i] = 1;
        open_position(b, i);
        forget(b, i);
        break;
    default: /* adds and events leave the position as it is */
        break;
    }
}

/* Applies the round and folds it into the pass's checksum. */
static void apply_round(bench *b, pass *ps, unsigned char *closed)
{
    memset(closed, 0, b->n);
    for (size_t k = 0; k < b->sink.n; k++) {
        const s6_proposal *a = &b->sink.v[k];
        ps->checksum += a->pos_index * 1e-3 + a->kind +
                        (isnan(a->price) ? 0 : a->price) + (isnan(a->qty) ? 0 : a->qty);
        apply(b, a, closed);
    }
    ps->proposals += b->sink.n;
}

/* ---- one pass ------------------------------------------------------- */

static void lua_round(bench *b, const s6_rule_registry *reg, size_t batch)
{
    for (size_t off = 0; off < b->n; off += batch) {
        size_t n = b->n - off < batch ? b->n - off : batch, first = b->sink.n;
        s6_eval_report rep;
        s6_ruleset_eval(reg->live, b->pos + off, b->mkt + off, n, &b->sink,
                        &b->store, &rep);
        b->faults += rep.errors + rep.overruns;
        /* proposals are numbered within their batch */
        for (size_t k = first; k < b->sink.n; k++)
            b->sink.v[k].pos_index += (int)off;
    }
}

static void reset(bench *b)
{
    b->rng = 0x5eed5eedull;
    b->now = 1.7e9;
    for (int s = 0; s < N_SYMBOLS; s++)
        b->price[s] = 10 + 990 * uniform(b);
    for (size_t i = 0; i < b->n; i++) {
        open_position(b, i);
        forget(b, i);
    }
}

/* Evaluations per second of one pass; proposals and checksum into ps. */
static double run_pass(bench *b, pass *ps, unsigned char *closed)
{
    double secs = 0;
    ps->proposals = 0;
    ps->checksum = 0;
    reset(b);
    for (int r = 0; r < b->rounds; r++) {
        move_market(b);
        s6_sink_reset(&b->sink);
        double (*clock)(void) = ps->wall ? wall_s : cpu_s;
        double t0 = clock();
        if (ps->reg == NULL)
            s6_native_eval(&b->nr, b->pos, b->mkt, b->n, &b->sink, b->nst);
        else
            lua_round(b, ps->reg, ps->batch);
        secs += clock() - t0;
        apply_round(b, ps, closed);
    }
    return (double)b->n * b->rounds / secs;
}

/* ---- set-up --------------------------------------------------------- */

static void on_fault(void *ud, const s6_rule_fault *f)
{
    bench *b = ud;
    if (b->faults == 0) /* counted from the report; the first one is shown */
        fprintf(stderr, "s6-bench-rules: rule %d, position %d: %s\n",
                f->rule_id, f->pos_index, f->message);
}

/* worker: the executable rule workers run from, NULL for in-process. */
static int open_registry(bench *b, s6_rule_registry *reg, const char *src,
                         const char *rules_dir, const char *worker)
{
    char lua_dir[1024], err[512] = "";
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", src);
    s6_ruleset_opts o = {.lua_dir = lua_dir, .mem_limit = MEM_LIMIT,
                         .deadline_ms = DEADLINE_MS,
                         .deadline_us_per_eval = DEADLINE_US_PER_EVAL,
                         .load_deadline_ms = 5000, .max_faults_per_rule = 3,
                         .watchdog = worker ? NULL : b->wd,
                         .worker_exe = worker,
                         .worker_as_limit = (size_t)4 << 30,
                         .on_fault = on_fault, .fault_ud = b};
    if (s6_registry_init(reg, rules_dir, &o) != 0 ||
        s6_registry_load(reg, err, sizeof err) != 0) {
        fprintf(stderr, "s6-bench-rules: loading %s: %s\n", rules_dir, err);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++)
        if (s6_ruleset_set_slot(reg->live, (int)i, "pos", "BTCUSDT") != 0)
            return -1;
    return 0;
}

/* The floor: rules of the same names whose evaluate does nothing, so what
 * it costs is the host's own work per position (views, state look-ups,
 * calls), and the rest of the shipped set's cost is the rules' bodies. */
static int write_noop_rules(bench *b)
{
    snprintf(b->floor_dir, sizeof b->floor_dir, "/tmp/s6-bench-noop-XXXXXX");
    if (mkdtemp(b->floor_dir) == NULL)
        return -1;
    for (int r = 0; r < S6_NATIVE_NRULES; r++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s.lua", b->floor_dir, s6_native_rule_name(r));
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return -1;
        fprintf(f, "local r = { name = '%s', triggers = { 'tick' } }\n"
                   "function r.evaluate() end\nreturn r\n", s6_native_rule_name(r));
        fclose(f);
    }
    return 0;
}

static void remove_noop_rules(bench *b)
{
    if (b->floor_dir[0] == '\0')
        return;
    for (int r = 0; r < S6_NATIVE_NRULES; r++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s.lua", b->floor_dir, s6_native_rule_name(r));
        unlink(path);
    }
    rmdir(b->floor_dir);
}

static int load_rules(bench *b, const char *src)
{
    char rules_dir[1024];
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", src);
    const char *exe = getenv("S6_RULE_WORKER_EXE") ? getenv("S6_RULE_WORKER_EXE")
                                                    : S6_POSITION_EXE;
    if (open_registry(b, &b->reg, src, rules_dir, NULL) != 0 ||
        write_noop_rules(b) != 0 ||
        open_registry(b, &b->floor, src, b->floor_dir, NULL) != 0 ||
        open_registry(b, &b->worker, src, rules_dir, exe) != 0)
        return -1;
    s6_native_rules_init(&b->nr);
    if (s6_native_rules_bind(&b->nr, &b->reg) != 0) {
        fprintf(stderr, "s6-bench-rules: %s is not the shipped rule set\n", rules_dir);
        return -1;
    }
    return 0;
}

static int setup(bench *b, const char *src)
{
    b->pos = calloc(b->n, sizeof *b->pos);
    b->mkt = calloc(b->n, sizeof *b->mkt);
    b->nst = calloc(b->n, sizeof *b->nst);
    if (b->pos == NULL || b->mkt == NULL || b->nst == NULL ||
        s6_sink_init(&b->sink, 8 * b->n) != 0 ||
        s6_state_store_init(&b->store, (int)b->n, S6_NATIVE_NRULES) != 0 ||
        s6_watchdog_start(&b->wd) != 0)
        return -1;
    return load_rules(b, src);
}

static void teardown(bench *b)
{
    s6_registry_free(&b->reg);
    s6_registry_free(&b->floor);
    s6_registry_free(&b->worker);
    remove_noop_rules(b);
    s6_state_store_free(&b->store);
    s6_sink_free(&b->sink);
    if (b->wd != NULL)
        s6_watchdog_stop(b->wd);
    free(b->pos);
    free(b->mkt);
    free(b->nst);
}

/* ---- the trace check ------------------------------------------------ */

/*
 * jit.v prints an abort as "[TRACE --- <start> -- <reason> at <where>]".
 * What fails the run is an NYI — a construct the JIT cannot compile, so it
 * is interpreted on every pass — located in host.lua's hot loop (from the
 * "-- ---- the hot loop" line on) or in code host.lua generates (chunks
 * named s6.host.*).  One NYI is by design: evaluate_batch turns its light
 * userdata arguments into typed pointers with ffi.cast once per call, which
 * the JIT refuses, so the function's entry is interpreted and the loop
 * compiles on its own.  Other aborts (trace too long, leaving a loop in a
 * root trace) are the tracer's heuristics settling: counted, not judged.
 */
typedef struct host_src {
    char **line;      /* host.lua, line[1..n] */
    int n;
    int hot_from;     /* first line of the hot loop, 0 if not found */
} host_src;

static int read_host(const char *src, host_src *h)
{
    char path[1024], buf[512];
    snprintf(path, sizeof path, "%s/lua/s6/host.lua", src);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(buf, sizeof buf, f) != NULL) {
        char **grown = realloc(h->line, (size_t)(h->n + 2) * sizeof *grown);
        if (grown == NULL)
            break;
        h->line = grown;
        h->line[++h->n] = strdup(buf);
        if (h->hot_from == 0 && strncmp(buf, "-- ---- the hot loop", 20) == 0)
            h->hot_from = h->n;
    }
    fclose(f);
    return h->hot_from > 0 ? 0 : -1;
}

static void free_host(host_src *h)
{
    for (int i = 1; i <= h->n; i++)
        free(h->line[i]);
    free(h->line);
}

typedef struct trace_counts {
    int traces, nyi, other, entry_casts;
} trace_counts;

/* Classifies one log line into c; returns 1 for a failing NYI. */
static int classify(const host_src *h, const char *line, trace_counts *c)
{
    if (strncmp(line, "[TRACE ", 7) != 0)
        return 0;
    if (strncmp(line, "[TRACE ---", 10) != 0) {
        c->traces++;
        return 0;
    }
    const char *at = strstr(line, " at ");
    const char *where = at != NULL ? at + 4 : "";
    int ln = strncmp(where, "host.lua:", 9) == 0 ? atoi(where + 9) : 0;
    int generated = strncmp(where, "s6.host.", 8) == 0;
    int hot = generated || (ln >= h->hot_from && ln <= h->n);
    int nyi = strstr(line, "NYI") != NULL;
    if (hot && nyi && ln > 0 && strstr(h->line[ln], "ffi.cast(") != NULL) {
        c->entry_casts++;
        return 0;
    }
    if (hot && nyi) {
        c->nyi++;
        return 1;
    }
    c->other += hot;
    return 0;
}

/* Scans PREFIX.* (one log per Lua state); -1 if there is none. */
static int check_traces(const char *prefix, const host_src *h, trace_counts *c)
{
    char pattern[1024], line[1024];
    glob_t g;
    snprintf(pattern, sizeof pattern, "%s.*", prefix);
    if (glob(pattern, 0, NULL, &g) != 0)
        return -1;
    for (size_t k = 0; k < g.gl_pathc; k++) {
        FILE *f = fopen(g.gl_pathv[k], "r");
        while (f != NULL && fgets(line, sizeof line, f) != NULL)
            if (classify(h, line, c))
                fprintf(stderr, "%s: %s", g.gl_pathv[k], line);
        if (f != NULL)
            fclose(f);
    }
    globfree(&g);
    return 0;
}

/* Old logs of the same prefix would be read as this run's. */
static void remove_logs(const char *prefix)
{
    char pattern[1024];
    glob_t g;
    snprintf(pattern, sizeof pattern, "%s.*", prefix);
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t k = 0; k < g.gl_pathc; k++)
            unlink(g.gl_pathv[k]);
        globfree(&g);
    }
}

/* Prints the trace check; returns 1 if it failed. */
static int report_traces(const char *prefix, const char *src)
{
    host_src h = {0};
    trace_counts c = {0};
    int ok = read_host(src, &h) == 0 && check_traces(prefix, &h, &c) == 0;
    free_host(&h);
    if (!ok) {
        fprintf(stderr, "s6-bench-rules: no trace logs %s.* or no hot loop "
                        "marker in host.lua\n", prefix);
        return 1;
    }
    printf("trace check (%s.*): %d traces; in host.lua's hot loop %d NYI, "
           "%d other aborts, %d at evaluate_batch's entry casts\n", prefix,
           c.traces, c.nyi, c.other, c.entry_casts);
    return c.nyi > 0 || c.traces == 0;
}

/* ---- main ----------------------------------------------------------- */

static int parse_count(const char *arg, long max, long *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

static void print_table(const bench *b, const pass *ps, size_t np)
{
#ifdef S6_HOOKED_LUAJIT
    const char *vm = "hooked LuaJIT (hook checks in traces)";
#else
    const char *vm = "stock LuaJIT (S6_HOOKED_LUAJIT=OFF)";
#endif
    printf("s6-bench-rules: %zu positions x %d rounds, %d rules, every position on a "
           "tick; best of %d; %s\n", b->n, b->rounds, S6_NATIVE_NRULES, REPEATS, vm);
    printf("Lua: sandbox, %u MiB cap, deadline %d ms + %.0f us/position; "
           "Lua state in use %.1f MiB\n", MEM_LIMIT >> 20, DEADLINE_MS,
           DEADLINE_US_PER_EVAL, (double)s6_ruleset_mem_used(b->reg.live) / (1 << 20));
    printf("%-34s %7s %12s %9s %10s %9s\n", "path", "batch", "evals/s",
           "us/eval", "proposals", "/native");
    for (size_t k = 0; k < np; k++)
        printf("%-34s %7zu %12.0f %9.3f %10zu %9.3f\n", ps[k].label,
               ps[k].reg != NULL ? ps[k].batch : b->n, ps[k].best, 1e6 / ps[k].best,
               ps[k].proposals, ps[k].best / ps[0].best);
}

int main(int argc, char **argv)
{
    long n = 10000, rounds = 20;
    if (argc > 3 || (argc > 1 && parse_count(argv[1], 1000000, &n) < 0) ||
        (argc > 2 && parse_count(argv[2], 100000, &rounds) < 0)) {
        fprintf(stderr, "usage: %s [positions [rounds]]\n", argv[0]);
        return 2;
    }
    const char *src = getenv("S6_SOURCE_DIR") ? getenv("S6_SOURCE_DIR") : S6_SOURCE_DIR;
    const char *jit_log = getenv("S6_JIT_LOG");
    if (jit_log != NULL)
        remove_logs(jit_log);
    bench b = {.n = (size_t)n, .rounds = (int)rounds};
    unsigned char *closed = malloc(b.n);
    if (closed == NULL || setup(&b, src) != 0) {
        teardown(&b);
        free(closed);
        return 2;
    }
    pass ps[] = {
        {.label = "native C reference"},
        {.label = "Lua host, one batch", .reg = &b.reg, .batch = b.n},
        {.label = "Lua host, batches of 100", .reg = &b.reg, .batch = 100},
        {.label = "Lua host, one call per position", .reg = &b.reg, .batch = 1},
        {.label = "Lua host, no-op rules (floor)", .reg = &b.floor, .batch = b.n,
         .floor = true},
        {.label = "Lua host, one batch, wall clock", .reg = &b.reg, .batch = b.n,
         .wall = true},
        {.label = "Lua worker process, one batch, wall", .reg = &b.worker,
         .batch = b.n, .wall = true},
        {.label = "native C reference, wall clock", .wall = true},
    };
    size_t np = sizeof ps / sizeof ps[0];
    for (int rep = 0; rep < REPEATS; rep++)
        for (size_t k = 0; k < np; k++)
            ps[k].best = fmax(ps[k].best, run_pass(&b, &ps[k], closed));
    print_table(&b, ps, np);
    printf("ratio Lua (one batch) / native: %.3f\n", ps[1].best / ps[0].best);
    printf("ratio Lua worker (one batch) / native, both on the wall clock: "
           "%.3f\n", ps[6].best / ps[7].best);
    printf("worker boundary: %.3f ms per batch of %zu (worker wall - in-process "
           "wall)\n", 1e3 * (double)b.n * (1 / ps[6].best - 1 / ps[5].best), b.n);

    int failed = b.faults > 0;
    if (failed)
        fprintf(stderr, "s6-bench-rules: %u rule faults\n", b.faults);
    for (size_t k = 1; k < np; k++)
        if (!ps[k].floor && (ps[k].proposals != ps[0].proposals || ps[k].checksum != ps[0].checksum)) {
            fprintf(stderr, "s6-bench-rules: '%s' proposed differently from "
                            "the native reference\n", ps[k].label);
            failed = 1;
        }
    teardown(&b); /* closes the Lua states, which flushes their logs */
    free(closed);
    if (jit_log != NULL)
        failed |= report_traces(jit_log, src);
    return failed ? 1 : 0;
}
