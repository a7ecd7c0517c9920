/* internal.h — what config.c shares with live.c; not public API. */
#pragma once

#include "config/config.h"

/* Builds a config from `doc` (consumed, also on failure); `name` stands
 * for the source in messages. */
int s6__config_build(json_t *doc, const char *name, s6_config *out,
                     s6_config_error *err);
/* The value at a dotted path, or NULL. */
json_t *s6__config_get(json_t *root, const char *path);
/* Sets the value at a dotted path (steals v), creating sections. */
int s6__config_set(json_t *root, const char *path, json_t *v);
/* The deploy-basics overrides applied to a document (no build). */
int s6__config_env_patch(json_t *doc, s6_config_error *err);
