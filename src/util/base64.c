#include "util/base64.h"

#include <errno.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int s6_base64_encode(const void *in, size_t n, char *out, size_t cap)
{
    const unsigned char *s = in;
    size_t need = (n + 2) / 3 * 4;
    if (cap == 0 || need >= cap || need > 0x7fffffff) {
        if (cap > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}
