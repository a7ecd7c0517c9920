#include "bus/fields.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <hiredis/hiredis.h>

#include "core/s6_errors.h"

static int field_err(const s6_bus_in *in, const char *name, char *err,
                     size_t errlen, const char *fmt_why, const char *v,
                     size_t vlen)
{
    if (err && errlen) {
        int shown = (int)(vlen > 40 ? 40 : vlen);
        if (v)
            snprintf(err, errlen, "%s: field '%s': %s ('%.*s')", in->what,
                     name, fmt_why, shown, v);
        else
            snprintf(err, errlen, "%s: field '%s': %s", in->what, name,
                     fmt_why);
    }
    return S6_EINVAL;
}

static bool kv_is(const s6_redis_kv *kv, const char *name)
{
    size_t len = strlen(name);
    return kv->klen == len && memcmp(kv->k, name, len) == 0;
}

int s6_bus_in_check(const s6_bus_in *in, char *err, size_t errlen)
{
    for (size_t i = 0; i < in->n; i++)
        for (size_t j = i + 1; j < in->n; j++)
            if (in->kv[i].klen == in->kv[j].klen &&
                memcmp(in->kv[i].k, in->kv[j].k, in->kv[i].klen) == 0) {
                if (err && errlen)
                    snprintf(err, errlen, "%s: field '%.*s': given twice",
                             in->what, (int)(in->kv[i].klen > 40 ? 40 : in->kv[i].klen),
                             in->kv[i].k);
                return S6_EINVAL;
            }
    return 0;
}

const s6_redis_kv *s6_bus_find(const s6_bus_in *in, const char *name)
{
    for (size_t i = 0; i < in->n; i++)
        if (kv_is(&in->kv[i], name))
            return &in->kv[i];
    return NULL;
}

/* Absent (or empty: the contract's "absent = empty") → 1; present → 0. */
static int lookup(const s6_bus_in *in, const char *name, bool required,
                  const s6_redis_kv **kv, char *err, size_t errlen)
{
    *kv = s6_bus_find(in, name);
    if (*kv && (*kv)->vlen > 0)
        return 0;
    if (required)
        return field_err(in, name, err, errlen, "missing", NULL, 0);
    return 1;
}

int s6_bus_get_str(const s6_bus_in *in, const char *name, bool required,
                   char *dst, size_t cap, char *err, size_t errlen)
{
    const s6_redis_kv *kv;
    int rc = lookup(in, name, required, &kv, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        dst[0] = '\0';
        return 0;
    }
    if (kv->vlen >= cap) {
        char why[48];
        snprintf(why, sizeof why, "longer than %zu characters", cap - 1);
        return field_err(in, name, err, errlen, why, kv->v, kv->vlen);
    }
    for (size_t i = 0; i < kv->vlen; i++) {
        unsigned char c = (unsigned char)kv->v[i];
        if (c <= ' ' || c >= 0x7f)
            return field_err(in, name, err, errlen,
                             "has a space or control character", kv->v,
                             kv->vlen);
    }
    memcpy(dst, kv->v, kv->vlen);
    dst[kv->vlen] = '\0';
    return 0;
}

void s6_bus_get_text(const s6_bus_in *in, const char *name, char *dst,
                     size_t cap)
{
    const s6_redis_kv *kv = s6_bus_find(in, name);
    size_t n = kv ? (kv->vlen < cap ? kv->vlen : cap - 1) : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)kv->v[i];
        dst[i] = c < ' ' || c == 0x7f ? '?' : (char)c;
    }
    dst[n] = '\0';
}

int s6_bus_get_enum(const s6_bus_in *in, const char *name, bool required,
                    const char *const *names, size_t n, int *idx, char *err,
                    size_t errlen)
{
    const s6_redis_kv *kv;
    int rc = lookup(in, name, required, &kv, err, errlen);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < n; i++)
        if (names[i] && kv_is(&(s6_redis_kv){ .k = kv->v, .klen = kv->vlen },
                              names[i])) {
            *idx = (int)i;
            return 0;
        }
    char why[160];
    size_t off = (size_t)snprintf(why, sizeof why, "unknown value, expected");
    for (size_t i = 0; i < n && off < sizeof why; i++)
        if (names[i])
            off += (size_t)snprintf(why + off, sizeof why - off, " %s",
                                    names[i]);
    return field_err(in, name, err, errlen, why, kv->v, kv->vlen);
}

int s6_bus_parse_num(const char *v, size_t len, double *out, const char **why)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) {
        *why = len ? "too long for a number" : "empty";
        return S6_EINVAL;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    const char *p = buf[0] == '-' || buf[0] == '+' ? buf + 1 : buf;
    if (strncasecmp(p, "nan", 3) == 0) {
        *why = "NaN is not a number";
        return S6_EINVAL;
    }
    if (strncasecmp(p, "inf", 3) == 0) {
        *why = "infinite";
        return S6_EINVAL;
    }
    /* Decimal only: strtod would also take hex and leading blanks. */
    if (strspn(buf, "0123456789.eE+-") != len) {
        *why = "not a decimal number";
        return S6_EINVAL;
    }
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + len) {
        *why = "not a decimal number";
        return S6_EINVAL;
    }
    if (errno == ERANGE || !isfinite(d)) {
        *why = "out of range";
        return S6_EINVAL;
    }
    *out = d;
    return 0;
}

int s6_bus_get_num(const s6_bus_in *in, const char *name, bool required,
                   double lo, double hi, double *out, char *err,
                   size_t errlen)
{
    const s6_redis_kv *kv;
    int rc = lookup(in, name, required, &kv, err, errlen);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    double d;
    const char *why;
    if (s6_bus_parse_num(kv->v, kv->vlen, &d, &why) != 0)
        return field_err(in, name, err, errlen, why, kv->v, kv->vlen);
    if (d < lo || d > hi) {
        char rng[96];
        if (d < 0 && lo >= 0)
            snprintf(rng, sizeof rng, "negative");
        else if (lo == DBL_MIN && hi == DBL_MAX) /* "> 0" ranges */
            snprintf(rng, sizeof rng, "must be greater than 0");
        else
            snprintf(rng, sizeof rng, "outside %g..%g", lo, hi);
        return field_err(in, name, err, errlen, rng, kv->v, kv->vlen);
    }
    *out = d;
    return 0;
}

int s6_bus_get_int(const s6_bus_in *in, const char *name, bool required,
                   long lo, long hi, int *out, char *err, size_t errlen)
{
    double d = NAN;
    int rc = s6_bus_get_num(in, name, required, (double)lo, (double)hi, &d,
                            err, errlen);
    if (rc != 0 || isnan(d))
        return rc;
    if (d != floor(d)) {
        const s6_redis_kv *kv = s6_bus_find(in, name);
        return field_err(in, name, err, errlen, "not a whole number", kv->v,
                         kv->vlen);
    }
    *out = (int)d;
    return 0;
}

void s6_bus_out_init(s6_bus_out *o)
{
    o->n = 0;
}

int s6_bus_out_str(s6_bus_out *o, const char *k, const char *v,
                   bool skip_empty)
{
    if (skip_empty && (!v || !v[0]))
        return 0;
    if (o->n >= S6_BUS_OUT_MAX || !v)
        return S6_ERANGE;
    o->kv[o->n++] = (s6_redis_kv){ .k = k, .klen = strlen(k), .v = v,
                                   .vlen = strlen(v) };
    return 0;
}

void s6_bus_fmt_num(double v, char buf[S6_BUS_NUM_LEN])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, S6_BUS_NUM_LEN, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

int s6_bus_out_num(s6_bus_out *o, const char *k, double v)
{
    if (o->n >= S6_BUS_OUT_MAX)
        return S6_ERANGE;
    if (!isfinite(v))
        return S6_EINVAL;
    s6_bus_fmt_num(v, o->num[o->n]);
    return s6_bus_out_str(o, k, o->num[o->n], false);
}

int s6_bus_out_int(s6_bus_out *o, const char *k, long v)
{
    if (o->n >= S6_BUS_OUT_MAX)
        return S6_ERANGE;
    snprintf(o->num[o->n], S6_BUS_NUM_LEN, "%ld", v);
    return s6_bus_out_str(o, k, o->num[o->n], false);
}

int s6_bus_reply_kv(const struct redisReply *arr, s6_redis_kv *kv, size_t cap,
                    size_t *n)
{
    *n = 0;
    if (!arr || arr->type != REDIS_REPLY_ARRAY || arr->elements % 2 ||
        arr->elements / 2 > cap)
        return S6_EINVAL;
    for (size_t i = 0; i < arr->elements; i += 2) {
        const redisReply *k = arr->element[i], *v = arr->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return S6_EINVAL;
        kv[i / 2] = (s6_redis_kv){ k->str, k->len, v->str, v->len };
    }
    *n = arr->elements / 2;
    return 0;
}

int s6_bus_cmd(s6_redis *r, uint32_t extra_ms, s6_redis_reply_cb cb,
               void *ud, int argc, const char *const *argv)
{
    size_t len[256];
    if (argc <= 0 || argc > 256)
        return S6_EINVAL;
    for (int i = 0; i < argc; i++)
        len[i] = argv[i] ? strlen(argv[i]) : 0;
    return s6_redis_cmd_ex(r, extra_ms, cb, ud, argc, argv, len);
}
