/*
 * result_codec.h — s6_order_result <-> the fields of an ord:{results}
 * stream entry (docs/contracts/order-results.md).
 *
 * Readers: the results consumer.  Writers: the paper router and the S4
 * test peer publish results with s6_result_format + s6_redis_xadd:
 *
 *   s6_bus_out o;
 *   if (s6_result_format(&res, &o, err, sizeof err) == 0)
 *       s6_redis_xadd(r, S6_RESULTS_STREAM, "*", o.kv, o.n, cb, ud);
 */
#pragma once

#include <stddef.h>

#include "core/s6_errors.h"
#include "engine/edges.h"
#include "bus/fields.h"

#define S6_RESULTS_STREAM "ord:{results}"

/* Fills *out from one entry's fields; validates everything and leaves *out
 * zeroed on error, with err naming the field ("ord:{results}: field
 * 'kind': unknown value ...", "... field 'qty': negative ('-1')").
 * Required: result_id, kind, symbol, market; for FILL also side,
 * fill_kind, qty > 0, price > 0.  Unknown fields are ignored.  Without a
 * `code` (an older S4), a REJECTED or CANCELED result's code is read from
 * its reason text. */
int s6_result_parse(const s6_redis_kv *kv, size_t n, s6_order_result *out,
                    char *err, size_t errlen);

/* The entry's fields for r (strings borrowed from r: keep r alive until
 * the XADD is issued).  Refuses what s6_result_parse would refuse. */
int s6_result_format(const s6_order_result *r, s6_bus_out *out, char *err,
                     size_t errlen);

/* Names on the wire, NULL when out of range. */
const char *s6_result_kind_name(int kind);
const char *s6_result_code_name(int code); /* NULL for S6_RCODE_NONE too */
const char *s6_fill_kind_name(int kind);
