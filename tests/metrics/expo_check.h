/*
 * expo_check — an independent checker of the Prometheus text format 0.0.4,
 * written from the format's description, sharing no code with the
 * renderer (src/metrics/expo.c):
 *
 *   line     = help | type | sample
 *   help     = "# HELP " name " " escaped-text          (\\ and \n only)
 *   type     = "# TYPE " name " " (counter|gauge|histogram|summary|untyped)
 *   sample   = name [ "{" label "=" '"' value '"' { "," ... } [","] "}" ]
 *              " " float [ " " int64 ]                  (\\ \" \n in values)
 *   float    = [+-] digits [. digits] [e [+-] digits] | NaN | +Inf | -Inf
 *
 * and the rules between lines: HELP and TYPE at most once per family and
 * before its samples; a family's lines in one group; every sample name is
 * a declared family (a histogram's _bucket, _sum, _count); no series twice;
 * counters not negative; per histogram series, le ascending up to +Inf,
 * cumulative counts, _sum present and _count equal to the +Inf bucket.
 */
#pragma once

#include <stddef.h>

/* 0 when text is valid; -1 with "line N: reason" in err otherwise. */
int expo_check(const char *text, char *err, size_t errlen);
