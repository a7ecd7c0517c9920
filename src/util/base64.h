/*
 * base64.h — RFC 4648 base64, for HTTP basic authentication (ArangoDB):
 * none of the libraries the project links exposes an encoder.
 */
#pragma once

#include <stddef.h>

/* Encodes n bytes of in into out with padding, NUL-terminated.  Returns
 * the encoded length, or -ENOSPC (out left empty) when cap is short. */
int s6_base64_encode(const void *in, size_t n, char *out, size_t cap);
