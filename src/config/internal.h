/* internal.h — what the files of src/config share; not public API. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

/* Builds a config from `doc` (consumed, also on failure); `name` stands
 * for the source in messages. */
int s6__config_build(json_t *doc, const char *name, s6_config *out,
                     s6_config_error *err);
/* The value at a dotted path, or NULL. */
json_t *s6__config_get(json_t *root, const char *path);
/* Sets the value at a dotted path (steals v), creating sections. */
int s6__config_set(json_t *root, const char *path, json_t *v);
/* The deploy-basics overrides applied to a document (no build). */
int s6__config_env_patch(json_t *doc, s6_config_error *err);

enum { PATH_MAX_LEN = 160 };

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"

/* The error reporting every file of the folder shares: static inline so
 * each file keeps its short names. */

/* snprintf where cutting a long name short is acceptable (messages, key
 * paths of absurd documents). */
static inline void textf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void textf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* Fills err (path, reason, message) and returns -EINVAL. */
static inline int fail(s6_config_error *err, const char *path,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int fail(s6_config_error *err, const char *path,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    snprintf(err->path, sizeof err->path, "%s", path ? path : "");
    textf(err->message, sizeof err->message, "%s: %s%s%s", err->file,
             err->path, err->path[0] ? ": " : "", err->reason);
    return -EINVAL;
}

/* Starts an error report about the source `name`. */
static inline void err_begin(s6_config_error *err, const char *name)
{
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", name ? name : "config");
}

/* Decodes v, the value of key k at `path`, into dst (decode.c). */
int s6__config_decode(const s6_cfg_key *k, json_t *v, void *dst,
                      const char *path, s6_config_error *err);
/* Frees what a decode of key k stored in dst (nothing for plain values). */
void s6__config_release(const s6_cfg_key *k, void *dst);
/* The stored value of key k back as JSON (new reference; NULL for the
 * types only the document keeps, or on ENOMEM). */
json_t *s6__config_encode(const s6_cfg_key *k, const void *src);
/* Do two stored values of key k say the same? */
bool s6__config_same(const s6_cfg_key *k, const void *a, const void *b);
/* The effective document with the symbols written back in from their
 * decoded form (new reference, NULL on ENOMEM): what a rebuild reads. */
json_t *s6__config_full_doc(const s6_config *cfg);
/* Same symbols, in the same order, with the same values? */
bool s6__config_symbols_same(const s6_config *a, const s6_config *b);
