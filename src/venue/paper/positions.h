/*
 * positions.h — the start positions file (examples/positions/): the
 * positions the paper router opens with entry fills when the service or
 * a replay starts.  Format in docs/contracts/paper.md.
 */
#pragma once

#include <stddef.h>

#include "config/config.h"
#include "venue/paper/paper.h"

/* Reads and validates the file against cfg's symbols.  On success *out is
 * a malloc'd array of *n entries (free()).  On error nothing is returned
 * and err names the file, the entry and the field:
 * "demo.json: positions[1].qty: must be a number > 0". */
int s6_paper_entries_load(const char *path, const s6_config *cfg,
                          s6_paper_entry **out, size_t *n, char *err,
                          size_t errlen);
/* The same from JSON text; name stands for the file in messages. */
int s6_paper_entries_parse(const char *text, const char *name,
                           const s6_config *cfg, s6_paper_entry **out,
                           size_t *n, char *err, size_t errlen);
