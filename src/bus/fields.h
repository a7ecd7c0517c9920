/*
 * fields.h — stream entry / hash fields in and out, shared by the codecs.
 *
 * Reading: an entry is a list of field/value pairs (s6_redis_kv).  Each
 * getter finds one field, checks it strictly and writes an error that
 * names the stream and the field ("ord:{results}: field 'qty': negative
 * (-1)").  Unknown fields are ignored so writers can add fields; a field
 * given twice is refused (which one would count?).
 *
 * Writing: s6_bus_out collects pairs for one XADD/HSET; strings are
 * borrowed (they must live until the command is issued — s6_redis_cmd
 * copies its arguments), numbers are formatted into the struct itself,
 * so the struct must not be copied once filled.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis/redis.h"

typedef struct s6_bus_in {
    const s6_redis_kv *kv;
    size_t n;
    const char *what;   /* the stream or key, for messages */
} s6_bus_in;

/* A field name given twice: S6_EINVAL naming it. */
int s6_bus_in_check(const s6_bus_in *in, char *err, size_t errlen);
const s6_redis_kv *s6_bus_find(const s6_bus_in *in, const char *name);

/* Text of 1..cap-1 printable, non-space characters; absent and not
 * required: dst = "". */
int s6_bus_get_str(const s6_bus_in *in, const char *name, bool required,
                   char *dst, size_t cap, char *err, size_t errlen);
/* Free text (a venue's reason): never refused — cut to cap-1 bytes,
 * control characters replaced by '?', so a wordy rejection still reaches
 * the engine. */
void s6_bus_get_text(const s6_bus_in *in, const char *name, char *dst,
                     size_t cap);
/* One of names[0..n) (NULL entries skipped); *idx its index.  Absent and
 * not required: *idx untouched. */
int s6_bus_get_enum(const s6_bus_in *in, const char *name, bool required,
                    const char *const *names, size_t n, int *idx, char *err,
                    size_t errlen);
/* A finite decimal number in [lo, hi].  Absent and not required: *out
 * untouched. */
int s6_bus_get_num(const s6_bus_in *in, const char *name, bool required,
                   double lo, double hi, double *out, char *err,
                   size_t errlen);
/* A whole number in [lo, hi]. */
int s6_bus_get_int(const s6_bus_in *in, const char *name, bool required,
                   long lo, long hi, int *out, char *err, size_t errlen);

/* Strict decimal parse of a counted string: 0, or S6_EINVAL with why set. */
int s6_bus_parse_num(const char *v, size_t len, double *out, const char **why);

enum { S6_BUS_OUT_MAX = 24, S6_BUS_NUM_LEN = 32 };

typedef struct s6_bus_out {
    s6_redis_kv kv[S6_BUS_OUT_MAX];
    size_t n;
    char num[S6_BUS_OUT_MAX][S6_BUS_NUM_LEN];
} s6_bus_out;

void s6_bus_out_init(s6_bus_out *o);
/* Borrowed value; skipped when skip_empty and v is "". */
int s6_bus_out_str(s6_bus_out *o, const char *k, const char *v,
                   bool skip_empty);
/* The shortest text that reads back as the same double. */
int s6_bus_out_num(s6_bus_out *o, const char *k, double v);
int s6_bus_out_int(s6_bus_out *o, const char *k, long v);
/* Shortest round-trip text of v into buf (S6_BUS_NUM_LEN bytes). */
void s6_bus_fmt_num(double v, char buf[S6_BUS_NUM_LEN]);

struct redisReply;
enum { S6_BUS_KV_MAX = 64 };
/* A flat [k1, v1, k2, v2, ...] reply (a stream entry's fields, HGETALL)
 * as pairs pointing into the reply: 0, or S6_EINVAL when it is not
 * an even array of strings or has more than cap pairs. */
int s6_bus_reply_kv(const struct redisReply *arr, s6_redis_kv *kv, size_t cap,
                    size_t *n);

/* s6_redis_cmd_ex for NUL-terminated arguments (at most 256). */
int s6_bus_cmd(s6_redis *r, uint32_t extra_ms, s6_redis_reply_cb cb,
               void *ud, int argc, const char *const *argv);
