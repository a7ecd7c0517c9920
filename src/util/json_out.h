/*
 * json_out.h — JSON text written straight into an s6_buf, for the answers
 * whose shape is fixed (GET /health, the positions, the manage answer):
 * no tree, no allocation beyond the buffer's growth.
 *
 * The text is the one jansson's json_dumps(JSON_COMPACT) gives for the
 * same values in the same order, so the API's bytes do not depend on which
 * of the two built them (tests/app/test_json_out.c compares them):
 *   - reals as "%.17g" (every double reads back bit for bit), with ".0"
 *     added when that looks like an integer, and the exponent without '+'
 *     or leading zeros ("1e+300" -> "1e300");
 *   - a real that is NaN or infinite is written as null (jansson cannot
 *     hold one at all): JSON has no such number;
 *   - strings escape '"', '\\' and the control characters (\b \f \n \r \t,
 *     else \u00XX in capitals), and pass UTF-8 through; a string that is
 *     not valid UTF-8 fails the document with -EILSEQ, as jansson refuses
 *     to hold one.
 *
 * Errors stick: the first one (-ENOMEM, -EILSEQ) is kept and later calls
 * do nothing, so a writer of forty fields checks once, in s6_jw_finish.
 * Commas are the writer's business; nesting is the caller's (a key before
 * each member of an object, the ends balanced).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/buf.h"

typedef struct s6_jw {
    s6_buf *b;
    int err;    /* the first error, 0 while none */
    bool comma; /* a value was written at this level: the next needs ',' */
} s6_jw;

/* Appends to b (which may already hold text). */
void s6_jw_init(s6_jw *w, s6_buf *b);
/* 0, or the first error met. */
int s6_jw_finish(const s6_jw *w);

void s6_jw_obj(s6_jw *w);
void s6_jw_end_obj(s6_jw *w);
void s6_jw_arr(s6_jw *w);
void s6_jw_end_arr(s6_jw *w);
/* A member's name; its value follows. */
void s6_jw_key(s6_jw *w, const char *key);

void s6_jw_str(s6_jw *w, const char *s); /* NULL: null */
void s6_jw_int(s6_jw *w, long long v);
void s6_jw_real(s6_jw *w, double v);     /* not finite: null */
void s6_jw_bool(s6_jw *w, bool v);
void s6_jw_null(s6_jw *w);
/* A value of open shape built elsewhere as a tree: its compact text (NULL
 * is null). */
void s6_jw_json(s6_jw *w, const json_t *v);

/* The value another writer wrote into its own buffer (all the buffer
 * holds), or that writer's error: a part written before what must stand
 * ahead of it in the document is known. */
void s6_jw_part(s6_jw *w, const s6_jw *part);
/* Whether s is UTF-8 the writer (and jansson) would take as a string. */
bool s6_jw_utf8_ok(const char *s);

/* Key and value in one call, for the members of fixed-shape objects. */
void s6_jw_kstr(s6_jw *w, const char *key, const char *s);
void s6_jw_kint(s6_jw *w, const char *key, long long v);
void s6_jw_kreal(s6_jw *w, const char *key, double v);
void s6_jw_kbool(s6_jw *w, const char *key, bool v);
void s6_jw_knull(s6_jw *w, const char *key);
void s6_jw_kobj(s6_jw *w, const char *key); /* key, then '{' */
void s6_jw_karr(s6_jw *w, const char *key); /* key, then '[' */

/* What w wrote into b, parsed back into a tree (NULL when the writer
 * failed); b is freed.  For the tree forms kept beside a writer, so both
 * say the same. */
json_t *s6_jw_parse(s6_buf *b, const s6_jw *w);

/* The real's text exactly as the writer puts it (at least 32 bytes);
 * returns its length, 0 for a value that is not finite. */
size_t s6_jw_real_text(char *out, size_t size, double v);
