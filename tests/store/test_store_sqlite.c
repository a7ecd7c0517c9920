/*
 * test_store_sqlite: the store contract against the SQLite backend on a
 * real file, then what only SQLite has: the schema version table, a file
 * from a newer build or not a database, a lock held by another process
 * (EBUSY), a full disk (EFULL), WAL on disk, ":memory:".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "contract.h"

typedef struct tmpdb {
    char dir[512];
    char path[600];
} tmpdb;

static tmpdb *tmpdb_new(void)
{
    tmpdb *t = calloc(1, sizeof *t);
    const char *base = getenv("S6_BUILD_DIR");
    snprintf(t->dir, sizeof t->dir, "%s/store-test-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(t->dir))
        fail_msg("mkdtemp %s failed", t->dir);
    snprintf(t->path, sizeof t->path, "%s/history.db", t->dir);
    return t;
}

static void tmpdb_free(tmpdb *t)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char p[640];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, suffixes[i]);
        unlink(p);
    }
    rmdir(t->dir);
    free(t);
}

static s6_store *open_path(const char *path)
{
    s6_store *st = NULL;
    s6_store_err e;
    if (s6_store_open_sqlite(path, &st, &e) != 0)
        fail_msg("open %s: %s", path, e.msg);
    return st;
}

/* ---- the contract fixture ------------------------------------------ */

static s6_store *fx_open(void **state)
{
    tmpdb *t = tmpdb_new();
    *state = t;
    return open_path(t->path);
}

static s6_store *fx_reopen(void **state, s6_store *st)
{
    s6_store_close(st);
    return open_path(((tmpdb *)*state)->path);
}

/* SQLite completes before the call returns: nothing to wait for, and a
 * completion still missing here is a contract failure. */
static void fx_wait(void **state, const int *flag)
{
    (void)state;
    if (*flag == 0)
        fail_msg("sqlite did not complete the call before returning");
}

static void fx_teardown(void **state, s6_store *st)
{
    s6_store_close(st);
    tmpdb_free(*state);
}

static const contract_backend SQLITE_BACKEND = {
    .name = "store_contract_sqlite",
    .open_fresh = fx_open,
    .reopen = fx_reopen,
    .wait = fx_wait,
    .teardown = fx_teardown,
};

/* The same contract with group commit on (store.h, s6_store_group): the
 * service's mode.  A reopen closes the store, which commits the group. */
static s6_store *fx_open_grouped(void **state)
{
    s6_store *st = fx_open(state);
    s6_store_group(st, true);
    return st;
}

static s6_store *fx_reopen_grouped(void **state, s6_store *st)
{
    st = fx_reopen(state, st);
    s6_store_group(st, true);
    return st;
}

static const contract_backend SQLITE_GROUPED = {
    .name = "store_contract_sqlite_grouped",
    .open_fresh = fx_open_grouped,
    .reopen = fx_reopen_grouped,
    .wait = fx_wait,
    .teardown = fx_teardown,
};

/* ---- SQLite only ---------------------------------------------------- */

static int setup_tmp(void **state)
{
    *state = tmpdb_new();
    return 0;
}

static int teardown_tmp(void **state)
{
    tmpdb_free(*state);
    return 0;
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        fail_msg("raw open %s: %s", path, sqlite3_errmsg(db));
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static const char *raw_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static void schema_version_and_wal_on_disk(void **state)
{
    tmpdb *t = *state;
    char buf[64];
    s6_store_close(open_path(t->path));
    s6_store_close(open_path(t->path)); /* a second open migrates nothing */
    sqlite3 *db = raw_open(t->path);
    assert_string_equal(raw_text(db, "SELECT group_concat(version) FROM "
                                     "schema_version", buf, sizeof buf), "1,2");
    assert_string_equal(raw_text(db, "PRAGMA journal_mode", buf, sizeof buf),
                        "wal");
    assert_string_equal(raw_text(db, "SELECT count(*) FROM sqlite_master WHERE"
                                     " name IN ('positions_snapshots','orders',"
                                     "'order_events','treasury_transfers')",
                                     buf, sizeof buf),
                        "4");
    sqlite3_close(db);
}

static void newer_schema_is_refused(void **state)
{
    tmpdb *t = *state;
    s6_store_close(open_path(t->path));
    sqlite3 *db = raw_open(t->path);
    raw_exec(db, "INSERT INTO schema_version VALUES (99)");
    sqlite3_close(db);
    s6_store *st = (s6_store *)1;
    s6_store_err e;
    assert_int_equal(s6_store_open_sqlite(t->path, &st, &e), S6_ECORRUPT);
    assert_null(st);
    assert_non_null(strstr(e.msg, t->path));
    assert_non_null(strstr(e.msg, "schema version 99 is newer than this "
                                  "build's 2"));
}

static s6_store_order an_order(const char *status, int64_t ms)
{
    s6_store_order o = { .intent_id = "p1-sl-1", .pos_id = "p1",
                         .symbol = "BTCUSDT", .kind = "STOP", .price = 100,
                         .qty = 1, .created_ms = ms, .updated_ms = ms };
    snprintf(o.status, sizeof o.status, "%s", status);
    return o;
}

static void upsert(s6_store *st, const s6_store_order *o, got *g)
{
    s6_store_err e;
    memset(g, 0, sizeof *g);
    assert_int_equal(s6_store_upsert_order(st, o, got_done, g, &e), 0);
}

/* A file the previous build wrote (schema 1, no order_events, an order
 * row in it) opens, gains the table, keeps its row, and records the next
 * status as the first event of that order. */
static void version_1_file_gains_order_events(void **state)
{
    tmpdb *t = *state;
    char buf[64];
    s6_store_close(open_path(t->path));
    sqlite3 *db = raw_open(t->path);
    raw_exec(db, "DROP TABLE order_events; DELETE FROM schema_version"
                 " WHERE version = 2;"
                 "INSERT INTO orders VALUES ('p1-sl-1','p1','STOP','SENT','',"
                 "100.0,1.0,10,10)");
    sqlite3_close(db);

    s6_store *st = open_path(t->path);
    got g;
    s6_store_order ack = an_order("ACKED", 20);
    upsert(st, &ack, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.order.created_ms, 10); /* the old row, moved */
    s6_store_err e;
    memset(&g, 0, sizeof g);
    assert_int_equal(s6_store_order_events(st, "p1-sl-1", got_done, &g, &e),
                     0);
    assert_int_equal(g.n_events, 1);
    assert_string_equal(g.events[0].status, "ACKED");
    s6_store_close(st);
    db = raw_open(t->path);
    assert_string_equal(raw_text(db, "SELECT group_concat(version) FROM "
                                     "schema_version", buf, sizeof buf), "1,2");
    sqlite3_close(db);
}

/* The row and its event are one transaction: an event that cannot be
 * written leaves the orders row as it was. */
static void refused_event_leaves_the_row(void **state)
{
    tmpdb *t = *state;
    s6_store *st = open_path(t->path);
    got g;
    s6_store_order sent = an_order("SENT", 10);
    upsert(st, &sent, &g);
    assert_int_equal(g.rc, 0);
    sqlite3 *db = raw_open(t->path);
    raw_exec(db, "CREATE TRIGGER no_events BEFORE INSERT ON order_events"
                 " BEGIN SELECT RAISE(ABORT, 'events refused'); END");
    sqlite3_close(db);
    s6_store_order ack = an_order("ACKED", 20);
    upsert(st, &ack, &g);
    assert_int_equal(g.rc, S6_ECONSTRAINT);
    assert_non_null(strstr(g.msg, "append order event"));
    s6_store_err e;
    memset(&g, 0, sizeof g);
    assert_int_equal(s6_store_get_order(st, "p1-sl-1", got_done, &g, &e), 0);
    assert_string_equal(g.order.status, "SENT");
    s6_store_close(st);
}

static void not_a_database_is_refused(void **state)
{
    tmpdb *t = *state;
    FILE *f = fopen(t->path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is a text file, not a database\n", f);
    fclose(f);
    s6_store *st = NULL;
    s6_store_err e;
    assert_int_equal(s6_store_open_sqlite(t->path, &st, &e), S6_ECORRUPT);
    assert_non_null(strstr(e.msg, "file is not a database"));
    assert_int_equal(s6_store_open_sqlite("", &st, &e), S6_EINVAL);
    assert_string_equal(e.msg, "path: missing or empty");
    assert_int_equal(s6_store_open_sqlite("/nonexistent-dir/x/h.db", &st, &e),
                     S6_EIO);
    assert_non_null(strstr(e.msg, "unable to open"));
}

static s6_store_transfer a_transfer(const char *id)
{
    s6_store_transfer t = { .trigger_type = "SCHEDULED", .from = "SPOT",
                            .to = "FUT", .amount = 10, .created_ms = 1,
                            .updated_ms = 1 };
    snprintf(t.transfer_id, sizeof t.transfer_id, "%s", id);
    return t;
}

static void lock_held_elsewhere_is_busy(void **state)
{
    tmpdb *t = *state;
    s6_store *st = open_path(t->path);
    sqlite3 *other = raw_open(t->path);
    raw_exec(other, "BEGIN IMMEDIATE");

    got g = { 0 };
    s6_store_err e;
    s6_store_transfer tr = a_transfer("tr-busy");
    assert_int_equal(s6_store_create_transfer(st, &tr, got_done, &g, &e), 0);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rc, S6_EBUSY);
    assert_non_null(strstr(g.msg, "database is locked"));

    raw_exec(other, "ROLLBACK");
    sqlite3_close(other);
    memset(&g, 0, sizeof g);
    assert_int_equal(s6_store_create_transfer(st, &tr, got_done, &g, &e), 0);
    assert_int_equal(g.rc, 0);
    assert_false(g.existed); /* the refused create wrote nothing */
    s6_store_close(st);
}

/* Every connection opened while registered gets a tiny size cap: the
 * store's own connection fills up without touching its code. */
static int cap_pages(sqlite3 *db, char **msg, const void *api)
{
    (void)msg; (void)api;
    return sqlite3_exec(db, "PRAGMA max_page_count=24", NULL, NULL, NULL);
}

static void full_disk_is_efull_and_keeps_earlier_rows(void **state)
{
    tmpdb *t = *state;
    sqlite3_auto_extension((void (*)(void))cap_pages);
    s6_store *st = open_path(t->path);
    sqlite3_cancel_auto_extension((void (*)(void))cap_pages);

    got g = { 0 };
    s6_store_err e;
    int written = 0;
    for (; written < 10000; written++) {
        s6_store_snapshot s = { .pos_id = "p1", .symbol = "BTCUSDT",
                                .market = "FUT", .state = "ACTIVE",
                                .side = "SHORT", .qty = 1, .ts_ms = written + 1,
                                .rule_versions = "{\"padding\":\"" "xxxxxxxxxx"
                                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                "\"}" };
        memset(&g, 0, sizeof g);
        assert_int_equal(s6_store_append_snapshot(st, &s, got_done, &g, &e), 0);
        if (g.rc != 0)
            break;
    }
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rc, S6_EFULL);
    assert_non_null(strstr(g.msg, "database or disk is full"));
    assert_true(written > 0);
    memset(&g, 0, sizeof g);
    assert_int_equal(s6_store_latest_snapshot(st, "p1", got_done, &g, &e), 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.snap.ts_ms, written); /* the last good one */
    s6_store_close(st);
}

static int raw_count(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    char n[32];
    raw_text(db, sql, n, sizeof n);
    sqlite3_close(db);
    return atoi(n);
}

/* In a group, history rows reach the file at the flush, all of them; a
 * refused write undoes only itself; a transfer commits at once, the
 * group's rows before it. */
static void group_commits_at_flush(void **state)
{
    tmpdb *t = *state;
    s6_store *st = open_path(t->path);
    sqlite3 *db = raw_open(t->path);
    raw_exec(db, "CREATE TRIGGER no_bad BEFORE INSERT ON order_events"
                 " WHEN NEW.intent_id = 'p1-sl-9'"
                 " BEGIN SELECT RAISE(ABORT, 'refused'); END");
    sqlite3_close(db);
    s6_store_group(st, true);
    got g;
    s6_store_order sent = an_order("SENT", 10), bad = an_order("SENT", 11);
    snprintf(bad.intent_id, sizeof bad.intent_id, "p1-sl-9");
    upsert(st, &sent, &g);
    assert_int_equal(g.rc, 0);
    upsert(st, &bad, &g);
    assert_int_equal(g.rc, S6_ECONSTRAINT);
    s6_store_order ack = an_order("ACKED", 20);
    upsert(st, &ack, &g);
    assert_int_equal(g.rc, 0);
    const char *orders = "SELECT count(*) FROM orders";
    const char *events = "SELECT count(*) FROM order_events";
    assert_int_equal(raw_count(t->path, orders), 0); /* not committed */
    s6_store_err e;
    assert_int_equal(s6_store_flush(st, &e), 0);
    assert_int_equal(raw_count(t->path, orders), 1);
    assert_int_equal(raw_count(t->path, events), 2); /* SENT, ACKED */
    s6_store_order fill = an_order("FILLED", 30);
    upsert(st, &fill, &g);
    s6_store_transfer tr = a_transfer("tr-group");
    memset(&g, 0, sizeof g);
    assert_int_equal(s6_store_create_transfer(st, &tr, got_done, &g, &e), 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(raw_count(t->path, "SELECT count(*) FROM "
                                        "treasury_transfers"), 1);
    assert_int_equal(raw_count(t->path, events), 3);
    assert_int_equal(s6_store_flush(st, &e), 0); /* nothing open: a no-op */
    s6_store_close(st);
}

static void memory_database_works(void **state)
{
    (void)state;
    s6_store *st = open_path(":memory:");
    got g = { 0 };
    s6_store_err e;
    s6_store_transfer tr = a_transfer("tr-mem");
    assert_int_equal(s6_store_create_transfer(st, &tr, got_done, &g, &e), 0);
    assert_int_equal(g.rc, 0);
    memset(&g, 0, sizeof g);
    assert_int_equal(s6_store_get_transfer(st, "tr-mem", got_done, &g, &e), 0);
    assert_true(g.found);
    assert_string_equal(g.transfer.trigger_type, "SCHEDULED");
    s6_store_close(st);
    s6_store_close(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)

int main(void)
{
    const struct CMUnitTest sqlite_only[] = {
        T(schema_version_and_wal_on_disk),
        T(newer_schema_is_refused),
        T(not_a_database_is_refused),
        T(version_1_file_gains_order_events),
        T(refused_event_leaves_the_row),
        T(lock_held_elsewhere_is_busy),
        T(full_disk_is_efull_and_keeps_earlier_rows),
        T(group_commits_at_flush),
        cmocka_unit_test(memory_database_works),
    };
    int failed = contract_run(&SQLITE_BACKEND);
    failed += contract_run(&SQLITE_GROUPED);
    failed += cmocka_run_group_tests_name("store_sqlite", sqlite_only, NULL,
                                          NULL);
    return failed;
}
