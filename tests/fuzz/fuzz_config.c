/*
 * fuzz_config — s6_config_load_text on arbitrary bytes.  Beyond not
 * crashing or leaking, a refused text must leave the output untouched and
 * say why, as the loader promises (src/config/config.h).
 */
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *text = malloc(len + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, len);
    text[len] = '\0';

    s6_config out, before;
    memset(&out, 0xA5, sizeof out);
    memcpy(&before, &out, sizeof out);
    s6_config_error err;
    memset(&err, 0, sizeof err);
    int rc = s6_config_load_text(text, "fuzz.json", &out, &err);
    if (rc == 0) {
        s6_config_free(&out);
    } else {
        if (memcmp(&out, &before, sizeof out) != 0) {
            fprintf(stderr, "refused config changed the output (rc %d: %s)\n",
                    rc, err.message);
            abort();
        }
        if (err.message[0] == '\0') {
            fprintf(stderr, "refused config without a message (rc %d)\n", rc);
            abort();
        }
    }
    free(text);
    return 0;
}
