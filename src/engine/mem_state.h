/*
 * mem_state.h — an in-memory s6_state_edge, for `s6-position replay` and
 * the engine's tests: records kept encoded (so every save goes through the
 * codec a restart uses), the events list, the announcements, a quota
 * ledger with the release-once marker, the engine's own record (book_save)
 * and a barrier that is immediate.
 *
 * quota_reserve answers later, as Redis would: the answer is queued and
 * delivered by s6_mem_state_pump (the replay driver pumps it with the
 * router; tests pump it where they want the answer to land).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

typedef struct s6_mem_state s6_mem_state;

typedef struct s6_mem_event {
    char symbol[S6_SYMBOL_MAX + 1];
    char pos_id[S6_POS_ID_MAX + 1];
    char type[32];
    char *json;
} s6_mem_event;

typedef struct s6_mem_announce {
    char stream[32];
    char *fields;     /* "k=v k=v", for tests and the replay report */
} s6_mem_announce;

/* budget: quote free in the ledger; concurrency: slots free.  A release
 * gives back everything the position held, the entry's part included,
 * which the upstream reserved outside this ledger: the ledger only
 * checks the engine's own reservations (adds). */
s6_mem_state *s6_mem_state_new(double budget, int concurrency);
void s6_mem_state_free(s6_mem_state *ms);
s6_state_edge s6_mem_state_edge(s6_mem_state *ms);

/* Delivers the queued quota answers; returns how many. */
size_t s6_mem_state_pump(s6_mem_state *ms);
/* Makes every later reservation fail (a full budget, Redis down). */
void s6_mem_state_refuse_quota(s6_mem_state *ms, bool refuse);

size_t s6_mem_state_n_events(const s6_mem_state *ms);
const s6_mem_event *s6_mem_state_event(const s6_mem_state *ms, size_t i);
/* Events of that type (and that position, NULL = any). */
size_t s6_mem_state_count(const s6_mem_state *ms, const char *type,
                          const char *pos_id);
size_t s6_mem_state_n_announces(const s6_mem_state *ms);
const s6_mem_announce *s6_mem_state_announce(const s6_mem_state *ms,
                                             size_t i);

/* The ledger and the release-once marker. */
double s6_mem_state_budget_free(const s6_mem_state *ms);
int s6_mem_state_concurrency_free(const s6_mem_state *ms);
unsigned s6_mem_state_releases(const s6_mem_state *ms, const char *pos_id);
unsigned s6_mem_state_saves(const s6_mem_state *ms);

/* The saved record of a position (encoded JSON), NULL when none. */
const char *s6_mem_state_record(const s6_mem_state *ms, const char *pos_id);
/* The engine's own record as last saved (for s6_engine_restore_book),
 * NULL when none. */
const char *s6_mem_state_book(const s6_mem_state *ms);
/* Every record decoded, for s6_engine_restore; free with
 * s6_mem_state_free_records. */
int s6_mem_state_load(const s6_mem_state *ms, s6_engine_record **recs,
                      size_t *n, char *err, size_t errlen);
void s6_mem_state_free_records(s6_engine_record *recs, size_t n);
