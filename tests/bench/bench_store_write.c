/*
 * Run from the source root after `cmake --build build -j2`:
 *   S6_BUILD_DIR=build build/bench_store_write 2000
 *
 * bench_store_write — what one store write costs on the loop thread.
 *
 * Times each call (validation, JSON document, SQLite commit) of the SQLite
 * backend on a file in the build folder, WAL with synchronous=NORMAL as the
 * service runs it, and prints p50/p99/max per operation.  For the reason
 * behind NORMAL it also times the same one-row commit through a bare
 * connection with synchronous=NORMAL and with FULL (an fsync per commit).
 *
 * Fails when a store write's median exceeds BUDGET_US: a write must stay
 * cheap enough to run on the loop (store.h).
 *
 * usage: bench_store_write [N]   (default 2000 per operation)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

#define BUDGET_US 1000.0

typedef struct run {
    const char *name;
    double *us;
    int n;
} run;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Prints the row and returns the median. */
static double report(run *r)
{
    qsort(r->us, (size_t)r->n, sizeof(double), cmp_double);
    double sum = 0;
    for (int i = 0; i < r->n; i++)
        sum += r->us[i];
    double p50 = r->us[r->n / 2];
    printf("%-34s n=%-6d mean=%8.1f us  p50=%8.1f us  p99=%8.1f us  "
           "max=%8.1f us\n", r->name, r->n, sum / r->n, p50,
           r->us[(int)(r->n * 0.99)], r->us[r->n - 1]);
    return p50;
}

static int failed_rc;

static void done(void *ud, int rc, const char *msg, const s6_store_result *res)
{
    (void)res;
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", (const char *)ud, msg);
        failed_rc = rc;
    }
}

static double bench_store(s6_store *st, int n, double *us)
{
    s6_store_err e;
    double worst_p50 = 0, p50;
    run r = { .us = us, .n = n };

    r.name = "store append_snapshot";
    for (int i = 0; i < n; i++) {
        s6_store_snapshot s = {
            .symbol = "BTCUSDT", .market = "FUT", .state = "ACTIVE",
            .side = "LONG", .qty = 0.01, .entry_px = 64000.5,
            .mark_px = 64100 + i, .roe = 0.0123, .liq_px = 58000.1,
            .stop_px = 63500, .stop_step = 1, .tp_step = 0, .adds = 0,
            .unrealized_pnl = 1.5, .plan_id = "plan-1",
            .rule_versions = "{\"lockin\":\"5f2a9c\",\"tp_ladder\":\"77e1b0\"}",
            .ts_ms = 1700000000000 + i };
        snprintf(s.pos_id, sizeof s.pos_id, "p%d", i % 100);
        double t0 = now_us();
        s6_store_append_snapshot(st, &s, done, "append_snapshot", &e);
        us[i] = now_us() - t0;
    }
    worst_p50 = report(&r);

    r.name = "store upsert_order";
    for (int i = 0; i < n; i++) {
        s6_store_order o = { .pos_id = "p1", .symbol = "BTCUSDT",
                             .kind = "STOP", .status = "ACKED",
                             .s4_order_id = "s4-1", .price = 63500, .qty = 0.01,
                             .created_ms = 1, .updated_ms = 1 + i };
        snprintf(o.intent_id, sizeof o.intent_id, "p1-sl-%d", i / 2);
        double t0 = now_us();
        s6_store_upsert_order(st, &o, done, "upsert_order", &e);
        us[i] = now_us() - t0;
    }
    p50 = report(&r);
    worst_p50 = p50 > worst_p50 ? p50 : worst_p50;

    r.name = "store create_transfer";
    for (int i = 0; i < n; i++) {
        s6_store_transfer t = { .trigger_type = "MARGIN_CALL", .from = "SPOT",
                                .to = "FUT", .amount = 100,
                                .created_ms = 1 + i, .updated_ms = 1 + i };
        snprintf(t.transfer_id, sizeof t.transfer_id, "tr-%d", i);
        double t0 = now_us();
        s6_store_create_transfer(st, &t, done, "create_transfer", &e);
        us[i] = now_us() - t0;
    }
    p50 = report(&r);
    worst_p50 = p50 > worst_p50 ? p50 : worst_p50;

    r.name = "store update_transfer";
    for (int i = 0; i < n; i++) {
        s6_store_transfer_update u = { .status = S6_TRANSFER_SUCCESS,
                                       .reason = "ok", .attempts = 1,
                                       .updated_ms = 5 + i };
        char id[32];
        snprintf(id, sizeof id, "tr-%d", i);
        double t0 = now_us();
        s6_store_update_transfer(st, id, &u, done, "update_transfer", &e);
        us[i] = now_us() - t0;
    }
    p50 = report(&r);
    return p50 > worst_p50 ? p50 : worst_p50;
}

/* The bare commit cost of one small row at a synchronous level. */
static void bench_raw(const char *path, const char *sync, int n, double *us)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char pragma[64], name[64];
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    sqlite3_exec(db, pragma, NULL, NULL, NULL);
    sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS raw (v INTEGER)", NULL, NULL,
                 NULL);
    sqlite3_prepare_v2(db, "INSERT INTO raw VALUES (?1)", -1, &st, NULL);
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        sqlite3_bind_int(st, 1, i);
        sqlite3_step(st);
        sqlite3_reset(st);
        us[i] = now_us() - t0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    snprintf(name, sizeof name, "bare insert, synchronous=%s", sync);
    run r = { .name = name, .us = us, .n = n };
    report(&r);
}

static void remove_db(const char *path)
{
    char p[600];
    const char *sfx[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    if (n < 100)
        n = 100;
    const char *dir = getenv("S6_BUILD_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/bench-store-%d.db", dir ? dir : "/tmp",
             (int)getpid());
    double *us = calloc((size_t)n, sizeof *us);
    s6_store *st = NULL;
    s6_store_err e;
    if (!us || s6_store_open_sqlite(path, &st, &e) != 0) {
        fprintf(stderr, "open %s: %s\n", path, st ? "" : e.msg);
        return 1;
    }
    printf("SQLite %s, file %s, WAL\n", sqlite3_libversion(), path);
    double p50 = bench_store(st, n, us);
    s6_store_close(st);
    remove_db(path);
    bench_raw(path, "NORMAL", n / 4, us);
    remove_db(path);
    bench_raw(path, "FULL", n / 4, us);
    remove_db(path);
    free(us);
    if (failed_rc) {
        fprintf(stderr, "a store call failed (%d)\n", failed_rc);
        return 1;
    }
    if (p50 > BUDGET_US) {
        fprintf(stderr, "median store write %.1f us is over the %.0f us "
                        "budget\n", p50, BUDGET_US);
        return 1;
    }
    return 0;
}
