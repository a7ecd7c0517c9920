/*
 * buf.h — a growable byte buffer, the one scratch type the service code
 * shares (log lines, HTTP request storage, response heads).
 *
 * Functions return 0 or -ENOMEM.  The data is always NUL-terminated once
 * anything has been appended, so text can be used as a C string directly.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

typedef struct s6_buf {
    char *data;
    size_t len;
    size_t cap;
} s6_buf;

/* Makes room for n more bytes, so appends up to n cannot move data. */
int s6_buf_reserve(s6_buf *b, size_t n);
int s6_buf_append(s6_buf *b, const void *p, size_t n);
int s6_buf_puts(s6_buf *b, const char *s);
int s6_buf_printf(s6_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int s6_buf_vprintf(s6_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void s6_buf_reset(s6_buf *b); /* len = 0, memory kept */
void s6_buf_free(s6_buf *b);
