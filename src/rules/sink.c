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

void s6_sink_reset(s6_sink *sink)
{
    sink->n = 0;
    sink->dropped = 0;
}

void s6_sink_free(s6_sink *sink)
{
    if (sink == NULL)
        return;
    free(sink->v);
    memset(sink, 0, sizeof *sink);
}

static int grow(s6_sink *sink)
{
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

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src != NULL ? strnlen(src, size - 1) : 0;
    memcpy(dst, src != NULL ? src : "", n);
    dst[n] = '\0';
}

int s6_sink_action(s6_sink *sink, int pos_index, int rule_id, int kind,
                   double price, double qty, double fraction, int step,
                   const char *name, const char *reason)
{
    if (sink == NULL)
        return S6_EINVAL;
    if (sink->n >= sink->limit || (sink->n == sink->cap && grow(sink) != 0)) {
        sink->dropped++;
        return S6_ERANGE;
    }
    s6_proposal *p = &sink->v[sink->n++];
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
