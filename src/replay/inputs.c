/*
 * inputs.c — price files and positions read once, whatever the number of
 * runs over them.  The files are parsed in parallel, one thread per core:
 * a year of 1-minute bars for ten symbols is five million lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/s6_errors.h"
#include "venue/paper/positions.h"
#include "replay/whatif.h"

enum { MAX_LOADERS = 16 };

typedef struct loader {
    const char *const *paths;
    s6_price_series *series;
    int *rc;
    char (*err)[512];
    size_t n, first, stride;
} loader;

static void *load_some(void *ud)
{
    const loader *l = ud;
    for (size_t k = l->first; k < l->n; k += l->stride)
        l->rc[k] = s6_prices_load(l->paths[k], &l->series[k], l->err[k],
                                  sizeof l->err[k]);
    return NULL;
}

static size_t loaders_for(size_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t k = cores > 0 ? (size_t)cores : 1;
    k = k < n ? k : n;
    return k < MAX_LOADERS ? k : MAX_LOADERS;
}

/* Every file, in parallel; the first failing file (in the order given)
 * names the error, as a sequential load would. */
static int load_prices(s6_replay_inputs *in, const char *const *paths,
                       size_t n, char *err, size_t errlen)
{
    int *rc = calloc(n, sizeof *rc);
    char (*msg)[512] = calloc(n, sizeof *msg);
    if (rc == NULL || msg == NULL) {
        free(rc), free(msg);
        return snprintf(err, errlen, "replay: out of memory"), S6_ENOMEM;
    }
    size_t nl = loaders_for(n);
    pthread_t th[MAX_LOADERS];
    loader l[MAX_LOADERS];
    size_t started = 0;
    for (size_t i = 0; i < nl; i++) {
        l[i] = (loader){ paths, in->series, rc, msg, n, i, nl };
        if (i > 0 && pthread_create(&th[i], NULL, load_some, &l[i]) == 0)
            started |= (size_t)1 << i;
        else if (i > 0)
            load_some(&l[i]); /* no thread: this one does it */
    }
    load_some(&l[0]);
    for (size_t i = 1; i < nl; i++)
        if (started & ((size_t)1 << i))
            pthread_join(th[i], NULL);
    int result = 0;
    for (size_t k = 0; k < n; k++) {
        if (result == 0 && rc[k] != 0) {
            result = rc[k];
            snprintf(err, errlen, "%s", msg[k]);
        }
    }
    for (size_t k = 0; result != 0 && k < n; k++)
        if (rc[k] == 0)
            s6_prices_free(&in->series[k]);
    free(rc);
    free(msg);
    return result;
}

int s6_replay_inputs_load(s6_replay_inputs *in, const s6_config *cfg,
                          const char *const *prices, size_t n_prices,
                          const char *positions, char *err, size_t errlen)
{
    *in = (s6_replay_inputs){ 0 };
    in->series = calloc(n_prices ? n_prices : 1, sizeof *in->series);
    if (in->series == NULL)
        return snprintf(err, errlen, "replay: out of memory"), S6_ENOMEM;
    int rc = load_prices(in, prices, n_prices, err, errlen);
    in->n_series = rc == 0 ? n_prices : 0; /* on failure freed already */
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
