/*
 * Called from the trusted Lua loop through FFI.  Strings are copied (and
 * cut to size) because Lua owns the originals; a batch cannot grow the sink
 * without bound, so a rule that returns millions of actions only costs its
 * own proposals, which are counted as dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "core/s6_core.h"
#include "rules/sink.h"

int s6_sink_init(s6_sink *sink, size_t limit)
{
    if (sink == NULL || limit == 0)
        return S6_EINVAL;
    memset(sink, 0, sizeof *sink);
    sink->limit = limit;
    return S6_OK;
}

int s6_sink_init_buf(s6_sink *sink, s6_proposal *buf, size_t cap)
{
    if (sink == NULL || buf == NULL || cap == 0)
        return S6_EINVAL;
    memset(sink, 0, sizeof *sink);
    sink->v = buf;
    sink->cap = sink->limit = cap;
    sink->fixed = 1;
    return S6_OK;
}

void s6_sink_reset(s6_sink *sink)
{
    sink->n = 0;
    sink->dropped = 0;
    memset(sink->capped, 0, sizeof sink->capped);
}

void s6_sink_free(s6_sink *sink)
{
    if (sink == NULL)
        return;
    if (!sink->fixed)
        free(sink->v);
    memset(sink, 0, sizeof *sink);
}

static int grow(s6_sink *sink)
{
    if (sink->fixed)
        return S6_ERANGE;
    size_t cap = sink->cap ? sink->cap * 2 : 64;
    if (cap > sink->limit)
        cap = sink->limit;
    s6_proposal *v = realloc(sink->v, cap * sizeof *v);
    if (v == NULL)
        return S6_ERANGE;
    sink->v = v;
    sink->cap = cap;
    return S6_OK;
}

/* Rule text reaches logs and terminals: control characters become '?'. */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src != NULL ? strnlen(src, size - 1) : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    dst[n] = '\0';
}

/* The next free proposal, or NULL (counted as dropped). */
static s6_proposal *next_slot(s6_sink *sink)
{
    if (sink->n >= sink->limit || (sink->n == sink->cap && grow(sink) != 0)) {
        sink->dropped++;
        return NULL;
    }
    return &sink->v[sink->n++];
}

int s6_sink_put(s6_sink *sink, const s6_proposal *p)
{
    s6_proposal *d = sink != NULL ? next_slot(sink) : NULL;
    if (d == NULL)
        return S6_ERANGE;
    *d = *p;
    return S6_OK;
}

void s6_sink_capped(s6_sink *sink, int rule_id, unsigned n)
{
    if (sink != NULL && rule_id >= 0 && rule_id < 64)
        sink->capped[rule_id] += n;
}

int s6_sink_action(s6_sink *sink, int pos_index, int rule_id, int kind,
                   double price, double qty, double fraction, int step,
                   const char *name, const char *reason)
{
    if (sink == NULL)
        return S6_EINVAL;
    s6_proposal *p = next_slot(sink);
    if (p == NULL)
        return S6_ERANGE;
    p->pos_index = pos_index;
    p->rule_index = rule_id;
    p->kind = kind;
    p->price = price;
    p->qty = qty;
    p->fraction = fraction;
    p->step = kind == S6_ACT_STOP && step > 0 ? step : 0;
    copy_str(p->name, sizeof p->name, name);
    copy_str(p->reason, sizeof p->reason, reason);
    return S6_OK;
}
