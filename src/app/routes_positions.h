/*
 * routes_positions.h — the body of POST /positions/manage, read strictly.
 *
 * A pure function (no server, no engine), so the fuzz target and the tests
 * reach it directly.  docs/api.md lists the fields per action.
 */
#pragma once

#include <stddef.h>

#include "engine/engine.h"

/* Reads `body` (len bytes, need not be NUL-terminated) into *out.
 * Returns 0, or -EINVAL with err filled: status 400 and code bad_json,
 * unknown_field, bad_type, missing_field, field_not_allowed,
 * unknown_action or invalid_value, `field` naming the field ("" for the
 * body as a whole).  On failure *out is reset (zeros, market -1), never half-filled.  The
 * request id is not part of the body: the caller copies it in.  action_id,
 * the idempotency key, is read into out->action_id for the caller, which
 * applies it (manage_keys.h). */
int s6_manage_parse(const char *body, size_t len, s6_manage_req *out,
                    s6_api_error *err);
