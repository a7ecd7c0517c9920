/*
 * inputs.c — price files and positions read once, whatever the number of
 * runs over them.
 */
#include <errno.h>
#include <stdlib.h>

#include "venue/paper/positions.h"
#include "replay/whatif.h"

int s6_replay_inputs_load(s6_replay_inputs *in, const s6_config *cfg,
                          const char *const *prices, size_t n_prices,
                          const char *positions, char *err, size_t errlen)
{
    *in = (s6_replay_inputs){ 0 };
    in->series = calloc(n_prices ? n_prices : 1, sizeof *in->series);
    if (in->series == NULL)
        return snprintf(err, errlen, "replay: out of memory"), -ENOMEM;
    int rc = 0;
    for (; rc == 0 && in->n_series < n_prices; in->n_series++)
        rc = s6_prices_load(prices[in->n_series], &in->series[in->n_series],
                            err, errlen);
    if (rc != 0)
        in->n_series--;
    if (rc == 0)
        rc = s6_paper_entries_load(positions, cfg, &in->entries,
                                   &in->n_entries, err, errlen);
    if (rc != 0)
        s6_replay_inputs_free(in);
    return rc;
}

void s6_replay_inputs_free(s6_replay_inputs *in)
{
    for (size_t k = 0; k < in->n_series; k++)
        s6_prices_free(&in->series[k]);
    free(in->series);
    free(in->entries);
    *in = (s6_replay_inputs){ 0 };
}
