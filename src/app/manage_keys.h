/*
 * manage_keys.h — the answers of POST /positions/manage by idempotency key,
 * so a retried manual action acts once (docs/api.md "Idempotent manual
 * actions").
 *
 * A bounded ring: the last S6_MANAGE_KEYS_KEPT keys, the oldest forgotten
 * first.  In memory only: a restart forgets every key.  One loop thread,
 * no locking.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

enum { S6_MANAGE_KEYS_KEPT = 1024 };

typedef struct s6_manage_answer {
    char key[S6_MANAGE_KEY_MAX + 1];
    char *request;   /* the request's fingerprint (s6_manage_fingerprint) */
    int status;
    char *body;      /* the answer's JSON text, as sent */
    size_t body_len;
} s6_manage_answer;

typedef struct s6_manage_keys {
    s6_manage_answer *slots; /* NULL until the first key is kept */
    size_t next;             /* the slot the next key takes */
} s6_manage_keys;

/* A key is 1..S6_MANAGE_KEY_MAX visible ASCII characters (no space, no
 * control character). */
bool s6_manage_key_ok(const char *key);

/* The request's meaning as text, the same for the same request whatever
 * the body's spacing, field order or key field.  malloc'd; NULL on no
 * memory. */
char *s6_manage_fingerprint(const s6_manage_req *r);

/* The answer kept under key, NULL when none. */
const s6_manage_answer *s6_manage_keys_find(const s6_manage_keys *t,
                                            const char *key);
/* Keeps an answer (copies everything), forgetting the oldest when full.
 * 0, -EINVAL (bad key), -ENOMEM. */
int s6_manage_keys_put(s6_manage_keys *t, const char *key,
                       const char *request, int status, const char *body,
                       size_t body_len);
void s6_manage_keys_free(s6_manage_keys *t);
