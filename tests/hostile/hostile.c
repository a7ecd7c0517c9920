/* The attacks of tests/hostile/rules, read from $S6_SOURCE_DIR. */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const s6_hostile_attacks[] = {
    "hang_pattern", "cstack_gsub", "oom_pcall", "bad_error", "burn",
    "raw_write", "flood", "huge_state", "spoof_event", "time_bomb"};
const size_t s6_hostile_n_attacks =
    sizeof s6_hostile_attacks / sizeof *s6_hostile_attacks;

/* Every attack file carries this line; arming flips it. */
static const char FLAG[] = "local live_only = false";
static const char ARMED[] = "local live_only = true ";

size_t s6_hostile_source(const char *attack, int armed, char *buf,
                         size_t cap)
{
    char path[512];
    const char *src = getenv("S6_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/hostile/rules/%s.lua",
             src != NULL ? src : ".", attack);
    FILE *f = fopen(path, "r");
    if (f == NULL || cap == 0)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    int whole = feof(f);
    fclose(f);
    buf[n] = '\0';
    char *flag = strstr(buf, FLAG);
    if (!whole || flag == NULL)
        return 0;
    if (armed)
        memcpy(flag, ARMED, sizeof ARMED - 1);
    return n;
}
