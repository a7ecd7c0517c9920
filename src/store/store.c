/*
 * store.c — the backend-independent half of the store: input validation
 * (so every backend refuses the same things with the same words), dispatch
 * through the vtable, and the status names.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/internal.h"

int s6_store_errf(s6_store_err *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void s6_store_finish(s6_store_call call, int rc, const s6_store_err *err,
                     const s6_store_result *res)
{
    static const s6_store_result none;
    call.done(call.ud, rc, rc == 0 || !err ? "" : err->msg, res ? res : &none);
}

bool s6_store_copy(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n)
        return false;
    memcpy(dst, src, len + 1);
    return true;
}

/* ---- names ---------------------------------------------------------- */

static const char *const STATUS_NAMES[S6_TRANSFER_STATUS_COUNT] = {
    [S6_TRANSFER_PENDING] = "PENDING",     [S6_TRANSFER_APPROVED] = "APPROVED",
    [S6_TRANSFER_SUBMITTED] = "SUBMITTED", [S6_TRANSFER_SUCCESS] = "SUCCESS",
    [S6_TRANSFER_FAILED] = "FAILED",       [S6_TRANSFER_REJECTED] = "REJECTED",
    [S6_TRANSFER_SKIPPED] = "SKIPPED",
};

const char *s6_transfer_status_name(s6_transfer_status s)
{
    return (unsigned)s < S6_TRANSFER_STATUS_COUNT ? STATUS_NAMES[s] : NULL;
}

int s6_transfer_status_parse(const char *name, s6_transfer_status *out)
{
    for (int i = 0; name && i < S6_TRANSFER_STATUS_COUNT; i++)
        if (strcmp(name, STATUS_NAMES[i]) == 0) {
            *out = (s6_transfer_status)i;
            return 0;
        }
    return S6_EINVAL;
}

bool s6_transfer_status_finished(s6_transfer_status s)
{
    return s >= S6_TRANSFER_SUCCESS && s < S6_TRANSFER_STATUS_COUNT;
}

/* ---- validation ----------------------------------------------------- */

static const char *const MARKETS[] = { "FUT", "SPOT", NULL };
static const char *const SIDES[] = { "LONG", "SHORT", NULL };
static const char *const STATES[] = {
    "PENDING_ENTRY", "ACTIVE", "PENDING_CLOSING", "CLOSED", NULL };
static const char *const KINDS[] = {
    "ENTRY", "STOP", "TAKE_PROFIT", "ADD", "CLOSE", NULL };
static const char *const ORDER_STATUSES[] = {
    "NEW", "SENT", "ACKED", "PARTIALLY_FILLED", "FILLED", "CANCELED",
    "REJECTED", "FAILED", NULL };

/* A fixed array must hold a terminated string: a caller that filled every
 * byte would make the backend read past the field. */
static int check_str(const char *what, const char *s, size_t cap,
                     bool may_be_empty, s6_store_err *err)
{
    if (!s)
        return s6_store_errf(err, S6_EINVAL, "%s: missing (NULL)", what);
    size_t len = strnlen(s, cap);
    if (len == cap)
        return s6_store_errf(err, S6_EINVAL,
                             "%s: longer than %zu characters", what, cap - 1);
    if (len == 0 && !may_be_empty)
        return s6_store_errf(err, S6_EINVAL, "%s: empty", what);
    return 0;
}

/* Ids travel in URLs (ArangoDB _key) and logs: printable ASCII, no space,
 * no '/' (a path separator in the document API). */
static int check_id(const char *what, const char *s, size_t cap,
                    bool may_be_empty, s6_store_err *err)
{
    int rc = check_str(what, s, cap, may_be_empty, err);
    if (rc)
        return rc;
    for (const char *p = s; *p; p++)
        if (!isgraph((unsigned char)*p) || *p == '/')
            return s6_store_errf(err, S6_EINVAL,
                                 "%s: character 0x%02x at offset %td is not "
                                 "allowed in an id", what, (unsigned char)*p,
                                 p - s);
    return 0;
}

#define CHECK_ID(w, f, empty_ok) check_id(w, f, sizeof(f), empty_ok, err)

static int check_enum(const char *what, const char *s, size_t cap,
                      const char *const *names, s6_store_err *err)
{
    int rc = check_str(what, s, cap, false, err);
    if (rc)
        return rc;
    for (const char *const *n = names; *n; n++)
        if (strcmp(s, *n) == 0)
            return 0;
    return s6_store_errf(err, S6_EINVAL, "%s: unknown value \"%s\"",
                         what, s);
}

#define CHECK_ENUM(w, f, names) check_enum(w, f, sizeof(f), names, err)

/* min is inclusive; -INFINITY means "any finite value". */
static int check_num(const char *what, double v, double min, s6_store_err *err)
{
    if (!isfinite(v))
        return s6_store_errf(err, S6_EINVAL, "%s: not a finite number",
                             what);
    if (v < min)
        return s6_store_errf(err, S6_EINVAL, "%s: %g is below %g", what,
                             v, min);
    return 0;
}

static int check_int(const char *what, int64_t v, int64_t min,
                     s6_store_err *err)
{
    if (v < min)
        return s6_store_errf(err, S6_EINVAL,
                             "%s: %lld is below %lld", what, (long long)v,
                             (long long)min);
    return 0;
}

static int check_rule_versions(const char *rv, s6_store_err *err)
{
    if (!rv || !*rv)
        return 0;
    json_error_t je;
    json_t *j = json_loads(rv, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return s6_store_errf(err, S6_EINVAL,
                             "rule_versions: not JSON (%s at column %d)",
                             je.text, je.column);
    int rc = 0;
    const char *k;
    json_t *v;
    if (!json_is_object(j))
        rc = s6_store_errf(err, S6_EINVAL,
                           "rule_versions: not a JSON object");
    else {
        json_object_foreach(j, k, v) {
            if (!json_is_string(v)) {
                rc = s6_store_errf(err, S6_EINVAL,
                                   "rule_versions.%s: not a string", k);
                break;
            }
        }
    }
    json_decref(j);
    return rc;
}

/* Each check returns its error; the first failure wins. */
#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int check_snapshot(const s6_store_snapshot *s, s6_store_err *err)
{
    if (!s)
        return s6_store_errf(err, S6_EINVAL, "snapshot: missing (NULL)");
    TRY(CHECK_ID("pos_id", s->pos_id, false));
    TRY(CHECK_ID("symbol", s->symbol, false));
    TRY(CHECK_ENUM("market", s->market, MARKETS));
    TRY(CHECK_ENUM("state", s->state, STATES));
    TRY(CHECK_ENUM("side", s->side, SIDES));
    TRY(check_num("qty", s->qty, 0, err));
    TRY(check_num("entry_px", s->entry_px, 0, err));
    TRY(check_num("mark_px", s->mark_px, 0, err));
    TRY(check_num("roe", s->roe, -INFINITY, err));
    TRY(check_num("liq_px", s->liq_px, 0, err));
    TRY(check_num("stop_px", s->stop_px, 0, err));
    TRY(check_int("stop_step", s->stop_step, 0, err));
    TRY(check_int("tp_step", s->tp_step, 0, err));
    TRY(check_int("adds", s->adds, 0, err));
    TRY(check_num("realized_pnl", s->realized_pnl, -INFINITY, err));
    TRY(check_num("unrealized_pnl", s->unrealized_pnl, -INFINITY, err));
    TRY(CHECK_ID("plan_id", s->plan_id, true));
    TRY(check_rule_versions(s->rule_versions, err));
    return check_int("ts_ms", s->ts_ms, 1, err);
}

static int check_order(const s6_store_order *o, s6_store_err *err)
{
    if (!o)
        return s6_store_errf(err, S6_EINVAL, "order: missing (NULL)");
    TRY(CHECK_ID("intent_id", o->intent_id, false));
    TRY(CHECK_ID("pos_id", o->pos_id, false));
    TRY(CHECK_ENUM("kind", o->kind, KINDS));
    TRY(CHECK_ENUM("status", o->status, ORDER_STATUSES));
    TRY(CHECK_ID("s4_order_id", o->s4_order_id, true));
    TRY(CHECK_ID("symbol", o->symbol, true));
    TRY(check_num("price", o->price, 0, err));
    TRY(check_num("qty", o->qty, 0, err));
    if (o->qty == 0)
        return s6_store_errf(err, S6_EINVAL, "qty: must be above 0");
    TRY(check_int("created_ms", o->created_ms, 1, err));
    return check_int("updated_ms", o->updated_ms, o->created_ms, err);
}

static int check_upper_ident(const char *what, const char *s, size_t cap,
                             s6_store_err *err)
{
    TRY(check_str(what, s, cap, false, err));
    for (const char *p = s; *p; p++)
        if (!isupper((unsigned char)*p) && *p != '_')
            return s6_store_errf(err, S6_EINVAL,
                                 "%s: \"%s\" is not an upper-case identifier",
                                 what, s);
    return 0;
}

static int check_status(const char *what, s6_transfer_status st,
                        s6_store_err *err)
{
    if (!s6_transfer_status_name(st))
        return s6_store_errf(err, S6_EINVAL, "%s: unknown status %d",
                             what, (int)st);
    return 0;
}

static int check_transfer(const s6_store_transfer *t, s6_store_err *err)
{
    if (!t)
        return s6_store_errf(err, S6_EINVAL, "transfer: missing (NULL)");
    TRY(CHECK_ID("transfer_id", t->transfer_id, false));
    TRY(CHECK_ID("trigger_id", t->trigger_id, true));
    TRY(check_upper_ident("trigger_type", t->trigger_type,
                          sizeof t->trigger_type, err));
    TRY(CHECK_ENUM("from", t->from, MARKETS));
    TRY(CHECK_ENUM("to", t->to, MARKETS));
    if (strcmp(t->from, t->to) == 0)
        return s6_store_errf(err, S6_EINVAL,
                             "to: same account as from (%s)", t->from);
    TRY(check_num("amount", t->amount, 0, err));
    TRY(check_status("status", t->status, err));
    TRY(check_str("reason", t->reason, sizeof t->reason, true, err));
    TRY(check_int("attempts", t->attempts, 0, err));
    TRY(check_int("created_ms", t->created_ms, 1, err));
    return check_int("updated_ms", t->updated_ms, t->created_ms, err);
}

static int check_update(const s6_store_transfer_update *u, s6_store_err *err)
{
    if (!u)
        return s6_store_errf(err, S6_EINVAL, "update: missing (NULL)");
    TRY(check_status("status", u->status, err));
    if (u->reason)
        TRY(check_str("reason", u->reason, S6_STORE_TEXT_MAX + 1, true, err));
    TRY(check_int("attempts", u->attempts, 0, err));
    return check_int("updated_ms", u->updated_ms, 1, err);
}

static int check_key(const char *what, const char *key, s6_store_err *err)
{
    return check_id(what, key, S6_STORE_ID_MAX + 1, false, err);
}

/* ---- dispatch ------------------------------------------------------- */

static int check_call(s6_store *st, s6_store_done_fn done, s6_store_err *err)
{
    if (!st)
        return s6_store_errf(err, S6_ECLOSED, "store: NULL");
    if (!done)
        return s6_store_errf(err, S6_EINVAL,
                             "done: a completion callback is required");
    return 0;
}

#define CALL(done, ud) ((s6_store_call){ (done), (ud) })

int s6_store_append_snapshot(s6_store *st, const s6_store_snapshot *snap,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_snapshot(snap, err));
    return st->ops->append_snapshot(st, snap, CALL(done, ud), err);
}

int s6_store_latest_snapshot(s6_store *st, const char *pos_id,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_key("pos_id", pos_id, err));
    return st->ops->latest_snapshot(st, pos_id, CALL(done, ud), err);
}

int s6_store_upsert_order(s6_store *st, const s6_store_order *ord,
                          s6_store_done_fn done, void *ud, s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_order(ord, err));
    return st->ops->upsert_order(st, ord, CALL(done, ud), err);
}

int s6_store_get_order(s6_store *st, const char *intent_id,
                       s6_store_done_fn done, void *ud, s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_key("intent_id", intent_id, err));
    return st->ops->get_order(st, intent_id, CALL(done, ud), err);
}

int s6_store_order_events(s6_store *st, const char *intent_id,
                          s6_store_done_fn done, void *ud, s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_key("intent_id", intent_id, err));
    return st->ops->order_events(st, intent_id, CALL(done, ud), err);
}

int s6_store_create_transfer(s6_store *st, const s6_store_transfer *tr,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_transfer(tr, err));
    return st->ops->create_transfer(st, tr, CALL(done, ud), err);
}

int s6_store_update_transfer(s6_store *st, const char *transfer_id,
                             const s6_store_transfer_update *up,
                             s6_store_done_fn done, void *ud,
                             s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_key("transfer_id", transfer_id, err));
    TRY(check_update(up, err));
    return st->ops->update_transfer(st, transfer_id, up, CALL(done, ud), err);
}

int s6_store_get_transfer(s6_store *st, const char *transfer_id,
                          s6_store_done_fn done, void *ud, s6_store_err *err)
{
    TRY(check_call(st, done, err));
    TRY(check_key("transfer_id", transfer_id, err));
    return st->ops->get_transfer(st, transfer_id, CALL(done, ud), err);
}

int s6_store_list_unfinished_transfers(s6_store *st, s6_store_done_fn done,
                                       void *ud, s6_store_err *err)
{
    TRY(check_call(st, done, err));
    return st->ops->list_unfinished(st, CALL(done, ud), err);
}

void s6_store_close(s6_store *st)
{
    if (st)
        st->ops->close(st);
}

void s6_store_group(s6_store *st, bool on)
{
    if (st && st->ops->group)
        st->ops->group(st, on);
}

int s6_store_flush(s6_store *st, s6_store_err *err)
{
    return st && st->ops->flush ? st->ops->flush(st, err) : 0;
}

/* ---- transfer transitions (shared by the backends) ------------------ */

static int status_rank(s6_transfer_status s)
{
    return s6_transfer_status_finished(s) ? (int)S6_TRANSFER_SUCCESS : (int)s;
}

int s6_store_check_transition(const s6_store_transfer *cur,
                              const s6_store_transfer_update *u,
                              s6_store_err *err)
{
    const char *from = s6_transfer_status_name(cur->status);
    const char *to = s6_transfer_status_name(u->status);
    if (s6_transfer_status_finished(cur->status) && u->status != cur->status)
        return s6_store_errf(err, S6_ECONFLICT,
                             "transfer %s: status %s is final, refused %s",
                             cur->transfer_id, from, to);
    if (status_rank(u->status) < status_rank(cur->status))
        return s6_store_errf(err, S6_ECONFLICT,
                             "transfer %s: status cannot go back from %s to %s",
                             cur->transfer_id, from, to);
    if (u->attempts < cur->attempts)
        return s6_store_errf(err, S6_ECONFLICT,
                             "transfer %s: attempts cannot go down from %d "
                             "to %d", cur->transfer_id, (int)cur->attempts,
                             (int)u->attempts);
    return 0;
}
