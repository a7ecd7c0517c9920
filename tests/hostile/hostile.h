/*
 * hostile.h — the attacks of tests/hostile/rules for the hostile suites
 * (ctest label hostile, docs/rule-worker.md).
 */
#pragma once

#include <stddef.h>

/* Every attack, by file name without ".lua". */
extern const char *const s6_hostile_attacks[];
extern const size_t s6_hostile_n_attacks;

/* The attack's source into buf (NUL-terminated); armed, it fires only on
 * live positions (a time bomb: the probe and self-checks pass it).
 * Returns its length, or 0 when it cannot be read or does not fit. */
size_t s6_hostile_source(const char *attack, int armed, char *buf,
                         size_t cap);
