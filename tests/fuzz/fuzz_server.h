/*
 * fuzz_server.h — the real service (s6_app with its routes) on a loopback
 * port, started once per fuzzing process, and one exchange per input: a
 * fresh connection gets the bytes, half-closes, and is read to EOF.  The
 * exchange returns only once the server has freed that connection, so
 * libFuzzer's per-input leak check sees a settled heap.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bearer token the fuzzing service is configured with. */
#define FUZZ_TOKEN "fuzz-token-0123456789"

/* The service starts in LLVMFuzzerInitialize (fuzz_server.c), so start-up
 * is not counted as coverage of any input; it aborts with a message if it
 * cannot start. */

/* One connection carrying `data`, then half-closed and read to EOF; with
 * `reset`, closed with a TCP reset as soon as the bytes are written, so
 * the server meets a peer that vanishes while it answers. */
void fuzz_server_exchange(const uint8_t *data, size_t len, bool reset);
