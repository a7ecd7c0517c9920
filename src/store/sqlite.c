/*
 * sqlite.c — the embedded store backend: one SQLite file, used from the
 * loop thread, every call completed before it returns.
 *
 * Durability: WAL journal with synchronous=NORMAL.  A commit appends to the
 * WAL without an fsync (the fsync happens at checkpoints), which is what
 * keeps a write in the tens of microseconds.  A process crash loses nothing
 * committed; a power loss or kernel crash may lose the last transactions
 * but never corrupts the file.  The history is a record, not the source of
 * truth for live positions (Redis and S4 are), so that trade is right here;
 * docs/store.md has the numbers.
 *
 * Longer than 600 lines on purpose: one backend of store.h in one file,
 * in the same sections and order as arangodb.c so the two read side by
 * side; a section alone would need the statement table and the
 * transaction helpers in a header.  What both share is in doc.c, store.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/internal.h"

/* A second process holding the write lock (a backup, an operator's shell)
 * may stall the loop at most this long before the write fails with EBUSY. */
#define BUSY_TIMEOUT_MS 20

/* ---- schema --------------------------------------------------------- */

/* MIGRATIONS[i] takes the schema from version i to i+1.  Append only:
 * a file written by a newer build (a higher version) is refused. */
static const char *const MIGRATIONS[] = {
    "CREATE TABLE positions_snapshots ("
    "  id INTEGER PRIMARY KEY,"
    "  pos_id TEXT NOT NULL, symbol TEXT NOT NULL, market TEXT NOT NULL,"
    "  state TEXT NOT NULL, ts_ms INTEGER NOT NULL,"
    "  doc TEXT NOT NULL CHECK (json_valid(doc)));"
    "CREATE INDEX positions_snapshots_pos ON positions_snapshots(pos_id, ts_ms, id);"
    "CREATE INDEX positions_snapshots_sym ON positions_snapshots(symbol, ts_ms);"
    "CREATE TABLE orders ("
    "  intent_id TEXT PRIMARY KEY, pos_id TEXT NOT NULL, kind TEXT NOT NULL,"
    "  status TEXT NOT NULL, s4_order_id TEXT NOT NULL, price REAL NOT NULL,"
    "  qty REAL NOT NULL, created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX orders_pos ON orders(pos_id);"
    "CREATE TABLE treasury_transfers ("
    "  transfer_id TEXT PRIMARY KEY, trigger_id TEXT NOT NULL,"
    "  trigger_type TEXT NOT NULL, from_account TEXT NOT NULL,"
    "  to_account TEXT NOT NULL, amount REAL NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('PENDING','APPROVED',"
    "    'SUBMITTED','SUCCESS','FAILED','REJECTED','SKIPPED')),"
    "  reason TEXT NOT NULL, attempts INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX treasury_transfers_unfinished ON treasury_transfers(created_ms)"
    "  WHERE status IN ('PENDING','APPROVED','SUBMITTED');",
    /* 2: an order's life, one row per status written (IF NOT EXISTS: a
     * file an operator prepared by hand is taken as it is). */
    "CREATE TABLE IF NOT EXISTS order_events ("
    "  seq INTEGER PRIMARY KEY, intent_id TEXT NOT NULL,"
    "  pos_id TEXT NOT NULL, symbol TEXT NOT NULL, kind TEXT NOT NULL,"
    "  status TEXT NOT NULL, price REAL NOT NULL, qty REAL NOT NULL,"
    "  ts_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS order_events_intent"
    "  ON order_events(intent_id, seq);",
};
#define SCHEMA_VERSION ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

/* ---- statements ----------------------------------------------------- */

#define TRANSFER_COLS                                                      \
    "transfer_id, trigger_id, trigger_type, from_account, to_account, "    \
    "amount, status, reason, attempts, created_ms, updated_ms"
#define ORDER_COLS                                                         \
    "intent_id, pos_id, kind, status, s4_order_id, price, qty, "           \
    "created_ms, updated_ms"
#define EVENT_COLS                                                         \
    "seq, intent_id, pos_id, symbol, kind, status, price, qty, ts_ms"

enum {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
    Q_SNAP_INSERT, Q_SNAP_LATEST,
    Q_ORDER_UPSERT, Q_ORDER_GET, Q_EVENT_INSERT, Q_EVENTS,
    Q_TR_INSERT, Q_TR_GET, Q_TR_UPDATE, Q_TR_UNFINISHED,
    Q_COUNT
};

static const char *const SQL[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT w",
    [Q_RELEASE] = "RELEASE w",
    [Q_ROLLBACK_TO] = "ROLLBACK TO w",
    [Q_SNAP_INSERT] = "INSERT INTO positions_snapshots"
                      "(pos_id, symbol, market, state, ts_ms, doc)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_SNAP_LATEST] = "SELECT doc FROM positions_snapshots WHERE pos_id = ?1"
                      " ORDER BY ts_ms DESC, id DESC LIMIT 1",
    /* An intent_id names one action of one position: the same key with
     * another position or kind is a bug upstream, refused (no row
     * changes).  An empty s4_order_id keeps the one S4 already gave. */
    [Q_ORDER_UPSERT] =
        "INSERT INTO orders(" ORDER_COLS ")"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT(intent_id) DO UPDATE SET status = excluded.status,"
        "  s4_order_id = coalesce(nullif(excluded.s4_order_id, ''),"
        "                         orders.s4_order_id),"
        "  price = excluded.price, qty = excluded.qty,"
        "  updated_ms = excluded.updated_ms"
        " WHERE orders.pos_id = excluded.pos_id AND orders.kind = excluded.kind",
    [Q_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE intent_id = ?1",
    [Q_EVENT_INSERT] = "INSERT INTO order_events(" EVENT_COLS ")"
                       " VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_EVENTS] = "SELECT " EVENT_COLS " FROM order_events"
                 " WHERE intent_id = ?1 ORDER BY seq",
    [Q_TR_INSERT] = "INSERT INTO treasury_transfers(" TRANSFER_COLS ")"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                    " ON CONFLICT(transfer_id) DO NOTHING",
    [Q_TR_GET] = "SELECT " TRANSFER_COLS " FROM treasury_transfers"
                 " WHERE transfer_id = ?1",
    [Q_TR_UPDATE] = "UPDATE treasury_transfers SET status = ?2,"
                    " reason = coalesce(?3, reason), attempts = ?4,"
                    " updated_ms = ?5 WHERE transfer_id = ?1",
    [Q_TR_UNFINISHED] = "SELECT " TRANSFER_COLS " FROM treasury_transfers"
                        " WHERE status IN ('PENDING','APPROVED','SUBMITTED')"
                        " ORDER BY created_ms, transfer_id",
};

typedef struct s6_sqlite {
    s6_store base;
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    bool grouped;        /* s6_store_group: history rows share a transaction */
    bool open;           /* ... and it is open */
} s6_sqlite;

/* ---- errors --------------------------------------------------------- */

static const struct { int sqlite; int rc; } ERRMAP[] = {
    { SQLITE_CONSTRAINT, S6_ECONSTRAINT },
    { SQLITE_BUSY, S6_EBUSY },
    { SQLITE_LOCKED, S6_EBUSY },
    { SQLITE_FULL, S6_EFULL },
    { SQLITE_NOMEM, S6_ENOMEM },
    { SQLITE_CORRUPT, S6_ECORRUPT },
    { SQLITE_NOTADB, S6_ECORRUPT },
};

static int map_rc(int src)
{
    for (size_t i = 0; i < sizeof ERRMAP / sizeof ERRMAP[0]; i++)
        if ((src & 0xff) == ERRMAP[i].sqlite)
            return ERRMAP[i].rc;
    return S6_EIO;
}

/* Names the operation, SQLite's own words and its extended code, so a log
 * line says which write failed and why (e.g. "database or disk is full"). */
static int db_fail(sqlite3 *db, int src, const char *op, s6_store_err *err)
{
    return s6_store_errf(err, map_rc(src), "sqlite %s: %s (%s, code %d)", op,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(src),
                         s6_strerror(map_rc(src)),
                         db ? sqlite3_extended_errcode(db) : src);
}

/* ---- statement helpers ---------------------------------------------- */

static sqlite3_stmt *q(s6_sqlite *s, int id)
{
    sqlite3_reset(s->q[id]);
    sqlite3_clear_bindings(s->q[id]);
    return s->q[id];
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Steps a statement that returns no rows (or whose row is not needed). */
static int run(s6_sqlite *s, sqlite3_stmt *st, const char *op,
               s6_store_err *err)
{
    int src = sqlite3_step(st);
    int rc = (src == SQLITE_DONE || src == SQLITE_ROW)
                 ? 0 : db_fail(s->db, src, op, err);
    sqlite3_reset(st);
    return rc;
}

static int sq_flush(s6_store *base, s6_store_err *err);

/* One write's transaction; joining a group, a savepoint inside the group's
 * transaction, so that a refused write undoes itself and nothing else.
 * Only history rows (snapshots, orders) join: a transfer is committed
 * before its done runs, as without a group (the treasury calls S1 once its
 * row is durable). */
static int begin(s6_sqlite *s, bool join, s6_store_err *err)
{
    if (!join)
        return run(s, q(s, Q_BEGIN), "begin", err);
    if (!s->open) {
        int rc = run(s, q(s, Q_BEGIN), "begin", err);
        if (rc != 0)
            return rc;
        s->open = true;
    }
    return run(s, q(s, Q_SAVEPOINT), "savepoint", err);
}

/* Commits when rc is 0, rolls back otherwise; returns the final rc.  A
 * write that joined a group is committed by the flush. */
static int end(s6_sqlite *s, bool join, int rc, s6_store_err *err)
{
    if (join) {
        if (rc != 0)
            run(s, q(s, Q_ROLLBACK_TO), "rollback to", NULL);
        int released = run(s, q(s, Q_RELEASE), "release", rc ? NULL : err);
        return rc ? rc : released;
    }
    if (rc == 0)
        rc = run(s, q(s, Q_COMMIT), "commit", err);
    if (rc != 0 && !sqlite3_get_autocommit(s->db))
        run(s, q(s, Q_ROLLBACK), "rollback", NULL);
    return rc;
}

static int col_text(sqlite3_stmt *st, int i, char *dst, size_t n,
                    const char *what, s6_store_err *err)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    if (!v || !s6_store_copy(dst, n, (const char *)v))
        return s6_store_errf(err, S6_ECORRUPT,
                             "stored %s: missing or too long", what);
    return 0;
}

#define COL_TEXT(st, i, f, what) col_text(st, i, f, sizeof(f), what, err)

/* Runs a one-row SELECT: 1 = row ready to read, 0 = none, < 0 = error. */
static int select_one(s6_sqlite *s, sqlite3_stmt *st, const char *op,
                      s6_store_err *err)
{
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        return 1;
    return src == SQLITE_DONE ? 0 : db_fail(s->db, src, op, err);
}

/* ---- snapshots ------------------------------------------------------ */

static int sq_append_snapshot(s6_store *base, const s6_store_snapshot *snap,
                              s6_store_call call, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    int rc = 0;
    json_t *doc = s6_store_snapshot_to_json(snap);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17))
                     : NULL;
    json_decref(doc);
    if (!text) {
        rc = s6_store_errf(&e, S6_ENOMEM, "snapshot: out of memory");
    } else {
        sqlite3_stmt *st = q(s, Q_SNAP_INSERT);
        bind_text(st, 1, snap->pos_id);
        bind_text(st, 2, snap->symbol);
        bind_text(st, 3, snap->market);
        bind_text(st, 4, snap->state);
        sqlite3_bind_int64(st, 5, snap->ts_ms);
        bind_text(st, 6, text);
        rc = begin(s, s->grouped, &e);
        if (rc == 0)
            rc = end(s, s->grouped, run(s, st, "append snapshot", &e), &e);
        free(text);
    }
    (void)err;
    s6_store_finish(call, rc, &e, NULL);
    return 0;
}

static int sq_latest_snapshot(s6_store *base, const char *pos_id,
                              s6_store_call call, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_snapshot snap;
    s6_store_result res = { 0 };
    char *rv = NULL;
    sqlite3_stmt *st = q(s, Q_SNAP_LATEST);
    bind_text(st, 1, pos_id);
    int rc = select_one(s, st, "latest snapshot", &e);
    if (rc == 1) {
        json_error_t je;
        json_t *doc = json_loads((const char *)sqlite3_column_text(st, 0), 0,
                                 &je);
        rc = s6_store_snapshot_from_json(doc, &snap, &rv, &e);
        json_decref(doc);
        res.found = rc == 0;
        res.snapshot = rc == 0 ? &snap : NULL;
    }
    sqlite3_reset(st); /* before done: it may call the store again */
    (void)err;
    s6_store_finish(call, rc, &e, &res);
    free(rv);
    return 0;
}

/* ---- orders --------------------------------------------------------- */

static int read_order(sqlite3_stmt *st, void *out, s6_store_err *err)
{
    s6_store_order *o = out;
    memset(o, 0, sizeof *o);
    int rc = COL_TEXT(st, 0, o->intent_id, "intent_id");
    rc = rc ? rc : COL_TEXT(st, 1, o->pos_id, "pos_id");
    rc = rc ? rc : COL_TEXT(st, 2, o->kind, "kind");
    rc = rc ? rc : COL_TEXT(st, 3, o->status, "status");
    rc = rc ? rc : COL_TEXT(st, 4, o->s4_order_id, "s4_order_id");
    o->price = sqlite3_column_double(st, 5);
    o->qty = sqlite3_column_double(st, 6);
    o->created_ms = sqlite3_column_int64(st, 7);
    o->updated_ms = sqlite3_column_int64(st, 8);
    return rc;
}

/* Reads the row of a one-key SELECT into *out: 1 = found, 0 = no row,
 * < 0 = error. */
typedef int (*row_reader)(sqlite3_stmt *st, void *out, s6_store_err *err);

static int load_row(s6_sqlite *s, int query, const char *key, const char *op,
                    row_reader read, void *out, s6_store_err *err)
{
    sqlite3_stmt *st = q(s, query);
    bind_text(st, 1, key);
    int rc = select_one(s, st, op, err);
    if (rc == 1 && read(st, out, err) < 0)
        rc = S6_ECORRUPT;
    sqlite3_reset(st);
    return rc;
}

static int load_order(s6_sqlite *s, const char *intent_id, s6_store_order *o,
                      s6_store_err *err)
{
    return load_row(s, Q_ORDER_GET, intent_id, "get order", read_order, o,
                    err);
}

static int append_event(s6_sqlite *s, const s6_store_order *o,
                        s6_store_err *err)
{
    s6_store_order_event ev;
    s6_store_order_event_of(o, &ev);
    sqlite3_stmt *st = q(s, Q_EVENT_INSERT);
    bind_text(st, 1, ev.intent_id);
    bind_text(st, 2, ev.pos_id);
    bind_text(st, 3, ev.symbol);
    bind_text(st, 4, ev.kind);
    bind_text(st, 5, ev.status);
    sqlite3_bind_double(st, 6, ev.price);
    sqlite3_bind_double(st, 7, ev.qty);
    sqlite3_bind_int64(st, 8, ev.ts_ms);
    return run(s, st, "append order event", err);
}

static int upsert_order_tx(s6_sqlite *s, const s6_store_order *o,
                           s6_store_order *out, s6_store_err *err)
{
    sqlite3_stmt *st = q(s, Q_ORDER_UPSERT);
    bind_text(st, 1, o->intent_id);
    bind_text(st, 2, o->pos_id);
    bind_text(st, 3, o->kind);
    bind_text(st, 4, o->status);
    bind_text(st, 5, o->s4_order_id);
    sqlite3_bind_double(st, 6, o->price);
    sqlite3_bind_double(st, 7, o->qty);
    sqlite3_bind_int64(st, 8, o->created_ms);
    sqlite3_bind_int64(st, 9, o->updated_ms);
    int rc = run(s, st, "upsert order", err);
    if (rc == 0 && sqlite3_changes(s->db) == 0) {
        load_order(s, o->intent_id, out, err);
        return s6_store_errf(err, S6_ECONFLICT,
                             "order %s: stored for pos_id %s kind %s, "
                             "refused for pos_id %s kind %s", o->intent_id,
                             out->pos_id, out->kind, o->pos_id, o->kind);
    }
    if (rc == 0 && load_order(s, o->intent_id, out, err) != 1)
        rc = S6_ECORRUPT;
    return rc ? rc : append_event(s, o, err);
}

static int sq_upsert_order(s6_store *base, const s6_store_order *o,
                           s6_store_call call, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_order stored;
    int rc = begin(s, s->grouped, &e);
    if (rc == 0)
        rc = end(s, s->grouped, upsert_order_tx(s, o, &stored, &e), &e);
    s6_store_result res = { .found = rc == 0, .order = rc ? NULL : &stored };
    (void)err;
    s6_store_finish(call, rc, &e, &res);
    return 0;
}

/* Reads every row of st into a grown array of elem-sized records (*out,
 * free() it, also on error). */
static int collect(s6_sqlite *s, sqlite3_stmt *st, const char *op,
                   size_t elem, row_reader read, void **out, size_t *n,
                   s6_store_err *err)
{
    size_t cap = 0;
    int src, rc = 0;
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            void *grown = realloc(*out, cap * elem);
            if (!grown) {
                rc = s6_store_errf(err, S6_ENOMEM, "%s: out of memory", op);
                break;
            }
            *out = grown;
        }
        rc = read(st, (char *)*out + elem * (*n)++, err);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_fail(s->db, src, op, err);
    sqlite3_reset(st);
    return rc;
}

static int read_event(sqlite3_stmt *st, void *out, s6_store_err *err)
{
    s6_store_order_event *ev = out;
    memset(ev, 0, sizeof *ev);
    ev->seq = sqlite3_column_int64(st, 0);
    int rc = COL_TEXT(st, 1, ev->intent_id, "intent_id");
    rc = rc ? rc : COL_TEXT(st, 2, ev->pos_id, "pos_id");
    rc = rc ? rc : COL_TEXT(st, 3, ev->symbol, "symbol");
    rc = rc ? rc : COL_TEXT(st, 4, ev->kind, "kind");
    rc = rc ? rc : COL_TEXT(st, 5, ev->status, "status");
    ev->price = sqlite3_column_double(st, 6);
    ev->qty = sqlite3_column_double(st, 7);
    ev->ts_ms = sqlite3_column_int64(st, 8);
    return rc;
}

static int sq_order_events(s6_store *base, const char *intent_id,
                           s6_store_call call, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_order_event *list = NULL;
    size_t n = 0;
    sqlite3_stmt *st = q(s, Q_EVENTS);
    bind_text(st, 1, intent_id);
    int rc = collect(s, st, "order events", sizeof *list, read_event,
                     (void **)&list, &n, &e);
    s6_store_result res = { .found = rc == 0 && n > 0, .events = list,
                            .n_events = rc ? 0 : n };
    (void)err;
    s6_store_finish(call, rc, &e, &res);
    free(list);
    return 0;
}

static int sq_get_order(s6_store *base, const char *intent_id,
                        s6_store_call call, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_order o;
    int rc = load_order(s, intent_id, &o, &e);
    s6_store_result res = { .found = rc == 1, .order = rc == 1 ? &o : NULL };
    (void)err;
    s6_store_finish(call, rc < 0 ? rc : 0, &e, &res);
    return 0;
}

/* ---- treasury transfers --------------------------------------------- */

static int read_transfer(sqlite3_stmt *st, void *out, s6_store_err *err)
{
    s6_store_transfer *t = out;
    memset(t, 0, sizeof *t);
    int rc = COL_TEXT(st, 0, t->transfer_id, "transfer_id");
    rc = rc ? rc : COL_TEXT(st, 1, t->trigger_id, "trigger_id");
    rc = rc ? rc : COL_TEXT(st, 2, t->trigger_type, "trigger_type");
    rc = rc ? rc : COL_TEXT(st, 3, t->from, "from_account");
    rc = rc ? rc : COL_TEXT(st, 4, t->to, "to_account");
    t->amount = sqlite3_column_double(st, 5);
    const char *status = (const char *)sqlite3_column_text(st, 6);
    if (!rc && s6_transfer_status_parse(status, &t->status))
        rc = s6_store_errf(err, S6_ECORRUPT,
                           "stored transfer %s: unknown status", t->transfer_id);
    rc = rc ? rc : COL_TEXT(st, 7, t->reason, "reason");
    t->attempts = sqlite3_column_int(st, 8);
    t->created_ms = sqlite3_column_int64(st, 9);
    t->updated_ms = sqlite3_column_int64(st, 10);
    return rc;
}

static int load_transfer(s6_sqlite *s, const char *id, s6_store_transfer *t,
                         s6_store_err *err)
{
    return load_row(s, Q_TR_GET, id, "get transfer", read_transfer, t,
                    err);
}

static int create_transfer_tx(s6_sqlite *s, const s6_store_transfer *t,
                              s6_store_transfer *out, bool *existed,
                              s6_store_err *err)
{
    sqlite3_stmt *st = q(s, Q_TR_INSERT);
    bind_text(st, 1, t->transfer_id);
    bind_text(st, 2, t->trigger_id);
    bind_text(st, 3, t->trigger_type);
    bind_text(st, 4, t->from);
    bind_text(st, 5, t->to);
    sqlite3_bind_double(st, 6, t->amount);
    bind_text(st, 7, s6_transfer_status_name(t->status));
    bind_text(st, 8, t->reason);
    sqlite3_bind_int(st, 9, t->attempts);
    sqlite3_bind_int64(st, 10, t->created_ms);
    sqlite3_bind_int64(st, 11, t->updated_ms);
    int rc = run(s, st, "create transfer", err);
    *existed = rc == 0 && sqlite3_changes(s->db) == 0;
    if (rc == 0 && load_transfer(s, t->transfer_id, out, err) != 1)
        rc = S6_ECORRUPT;
    return rc;
}

static int sq_create_transfer(s6_store *base, const s6_store_transfer *t,
                              s6_store_call call, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_transfer stored;
    bool existed = false;
    int rc = sq_flush(&s->base, &e);
    if (rc == 0)
        rc = begin(s, false, &e);
    if (rc == 0)
        rc = end(s, false,
                 create_transfer_tx(s, t, &stored, &existed, &e), &e);
    s6_store_result res = { .found = rc == 0, .existed = existed,
                            .transfer = rc ? NULL : &stored };
    (void)err;
    s6_store_finish(call, rc, &e, &res);
    return 0;
}

static int update_transfer_tx(s6_sqlite *s, const char *id,
                              const s6_store_transfer_update *u,
                              s6_store_transfer *out, s6_store_err *err)
{
    int rc = load_transfer(s, id, out, err);
    if (rc == 0)
        return s6_store_errf(err, S6_ENOTFOUND,
                             "transfer %s: not found", id);
    if (rc < 0)
        return rc;
    rc = s6_store_check_transition(out, u, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = q(s, Q_TR_UPDATE);
    bind_text(st, 1, id);
    bind_text(st, 2, s6_transfer_status_name(u->status));
    if (u->reason)
        bind_text(st, 3, u->reason);
    sqlite3_bind_int(st, 4, u->attempts);
    sqlite3_bind_int64(st, 5, u->updated_ms);
    rc = run(s, st, "update transfer", err);
    if (rc == 0 && load_transfer(s, id, out, err) != 1)
        rc = S6_ECORRUPT;
    return rc;
}

static int sq_update_transfer(s6_store *base, const char *id,
                              const s6_store_transfer_update *u,
                              s6_store_call call, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_transfer stored;
    int rc = sq_flush(&s->base, &e);
    if (rc == 0)
        rc = begin(s, false, &e);
    if (rc == 0)
        rc = end(s, false, update_transfer_tx(s, id, u, &stored, &e),
                 &e);
    s6_store_result res = { .found = rc == 0, .transfer = rc ? NULL : &stored };
    (void)err;
    s6_store_finish(call, rc, &e, &res);
    return 0;
}

static int sq_get_transfer(s6_store *base, const char *id, s6_store_call call,
                           s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_transfer t;
    int rc = load_transfer(s, id, &t, &e);
    s6_store_result res = { .found = rc == 1, .transfer = rc == 1 ? &t : NULL };
    (void)err;
    s6_store_finish(call, rc < 0 ? rc : 0, &e, &res);
    return 0;
}

static int sq_list_unfinished(s6_store *base, s6_store_call call,
                              s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    s6_store_err e;
    s6_store_transfer *list = NULL;
    size_t n = 0;
    int rc = collect(s, q(s, Q_TR_UNFINISHED), "list unfinished",
                     sizeof *list, read_transfer, (void **)&list, &n, &e);
    s6_store_result res = { .found = rc == 0 && n > 0, .transfers = list,
                            .n_transfers = rc ? 0 : n };
    (void)err;
    s6_store_finish(call, rc, &e, &res);
    free(list);
    return 0;
}

/* ---- open and close ------------------------------------------------- */

static int sq_flush(s6_store *base, s6_store_err *err)
{
    s6_sqlite *s = (s6_sqlite *)base;
    if (!s->open)
        return 0;
    s->open = false;
    int rc = run(s, q(s, Q_COMMIT), "commit", err);
    if (rc != 0 && !sqlite3_get_autocommit(s->db))
        run(s, q(s, Q_ROLLBACK), "rollback", NULL);
    return rc;
}

static void sq_group(s6_store *base, bool on)
{
    s6_sqlite *s = (s6_sqlite *)base;
    if (!on)
        sq_flush(base, NULL);
    s->grouped = on;
}

static void sq_close(s6_store *base)
{
    s6_sqlite *s = (s6_sqlite *)base;
    sq_flush(base, NULL);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s);
}

static const s6_store_ops SQLITE_OPS = {
    .name = "sqlite",
    .append_snapshot = sq_append_snapshot,
    .latest_snapshot = sq_latest_snapshot,
    .upsert_order = sq_upsert_order,
    .get_order = sq_get_order,
    .order_events = sq_order_events,
    .create_transfer = sq_create_transfer,
    .update_transfer = sq_update_transfer,
    .get_transfer = sq_get_transfer,
    .list_unfinished = sq_list_unfinished,
    .close = sq_close,
    .group = sq_group,
    .flush = sq_flush,
};

static int exec(sqlite3 *db, const char *sql, const char *op,
                s6_store_err *err)
{
    int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? 0 : db_fail(db, src, op, err);
}

static int read_version(sqlite3 *db, int *version, s6_store_err *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0)"
                                     " FROM schema_version", -1, &st, NULL);
    if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return src == SQLITE_ROW ? 0 : db_fail(db, src, "read schema version", err);
}

/* Brings the file to SCHEMA_VERSION in one transaction, so a crash during
 * a migration leaves the previous version intact. */
static int migrate(sqlite3 *db, s6_store_err *err)
{
    int version = 0;
    int rc = exec(db, "BEGIN IMMEDIATE", "begin migration", err);
    if (rc)
        return rc;
    rc = exec(db, "CREATE TABLE IF NOT EXISTS schema_version"
                  " (version INTEGER NOT NULL)", "create schema_version", err);
    rc = rc ? rc : read_version(db, &version, err);
    if (!rc && version > SCHEMA_VERSION)
        rc = s6_store_errf(err, S6_ECORRUPT,
                           "sqlite: schema version %d is newer than this "
                           "build's %d", version, SCHEMA_VERSION);
    for (int v = version; !rc && v < SCHEMA_VERSION; v++) {
        char sql[80];
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d)",
                 v + 1);
        rc = exec(db, MIGRATIONS[v], "migrate schema", err);
        rc = rc ? rc : exec(db, sql, "record schema version", err);
    }
    if (rc) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec(db, "COMMIT", "commit migration", err);
}

static int configure(sqlite3 *db, s6_store_err *err)
{
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    /* journal_mode answers with a row: exec ignores it.  ":memory:" stays
     * in "memory" mode, which is fine for tests. */
    int rc = exec(db, "PRAGMA journal_mode=WAL", "set WAL journal", err);
    return rc ? rc : exec(db, "PRAGMA synchronous=NORMAL", "set synchronous",
                          err);
}

static int prepare_all(s6_sqlite *s, s6_store_err *err)
{
    for (int i = 0; i < Q_COUNT; i++) {
        int src = sqlite3_prepare_v3(s->db, SQL[i], -1,
                                     SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
        if (src != SQLITE_OK)
            return db_fail(s->db, src, "prepare", err);
    }
    return 0;
}

int s6_store_open_sqlite(const char *path, s6_store **out, s6_store_err *err)
{
    if (!out)
        return s6_store_errf(err, S6_EINVAL, "out: NULL");
    *out = NULL;
    if (!path || !*path)
        return s6_store_errf(err, S6_EINVAL, "path: missing or empty");
    s6_sqlite *s = calloc(1, sizeof *s);
    if (!s)
        return s6_store_errf(err, S6_ENOMEM, "sqlite: out of memory");
    s->base.ops = &SQLITE_OPS;
    /* NOMUTEX: one thread uses a store (store.h), no locking needed. */
    int src = sqlite3_open_v2(path, &s->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                  SQLITE_OPEN_NOMUTEX, NULL);
    int rc = src == SQLITE_OK ? 0 : db_fail(s->db, src, "open", err);
    if (rc == 0)
        sqlite3_extended_result_codes(s->db, 1);
    rc = rc ? rc : configure(s->db, err);
    rc = rc ? rc : migrate(s->db, err);
    rc = rc ? rc : prepare_all(s, err);
    if (rc) {
        if (err) { /* name the file: a service may open several */
            char why[S6_STORE_ERR_MAX];
            memcpy(why, err->msg, sizeof why);
            s6_store_errf(err, rc, "%s: %s", path, why);
        }
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
