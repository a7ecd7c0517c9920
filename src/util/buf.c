#include "util/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes plus the terminating NUL. */
static int reserve(s6_buf *b, size_t n)
{
    if (n >= (size_t)-1 - b->len)
        return -ENOMEM;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int s6_buf_reserve(s6_buf *b, size_t n)
{
    return reserve(b, n);
}

int s6_buf_append(s6_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc < 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int s6_buf_puts(s6_buf *b, const char *s)
{
    return s6_buf_append(b, s, strlen(s));
}

int s6_buf_vprintf(s6_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    int rc = n < 0 ? -EINVAL : reserve(b, (size_t)n);
    if (rc == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return rc;
}

int s6_buf_printf(s6_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s6_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void s6_buf_reset(s6_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void s6_buf_free(s6_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
