/*
 * fuzz_http — arbitrary bytes as a client would send them to the service:
 * request lines, headers, chunked bodies, pipelined requests, and bodies
 * for the JSON handlers behind every route.
 */
#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    fuzz_server_exchange(data, len, false);
    return 0;
}
