/*
 * fuzz_control — the JSON bodies of POST /control/pause and /resume.  The
 * first byte picks the route, the credentials (the right token, a wrong
 * one, none) and whether the client resets instead of reading the answer;
 * the rest is the body, framed by a well-formed request so
 * every input reaches the handler instead of the HTTP parser's errors.
 */
#include "fuzz_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static const char *const paths[] = { "/control/pause", "/control/resume" };
static const char *const auths[] = {
    "Authorization: Bearer " FUZZ_TOKEN "\r\n",
    "Authorization: Bearer " FUZZ_TOKEN "x\r\n",
    "",
    "Authorization: Bearer " FUZZ_TOKEN "\r\n", /* the valid case twice as often */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    unsigned pick = data[0];
    data++, len--;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: s6\r\n%s"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     paths[pick & 1], auths[(pick >> 1) & 3], len);
    uint8_t *req = malloc((size_t)n + len);
    if (req == NULL)
        return 0;
    memcpy(req, head, (size_t)n);
    memcpy(req + n, data, len);
    fuzz_server_exchange(req, (size_t)n + len, (pick >> 3) & 1);
    free(req);
    return 0;
}
