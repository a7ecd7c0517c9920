/* fuzz_check.h — a target's own check: a broken promise aborts, so
 * libFuzzer keeps the input as a crash. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static inline void fuzz_check(bool ok, const char *target, const char *what,
                              size_t len)
{
    if (!ok) {
        fprintf(stderr, "%s: %s (input of %zu bytes)\n", target, what, len);
        abort();
    }
}
