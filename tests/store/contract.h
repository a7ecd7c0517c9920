/*
 * contract.h — how the store contract suite reaches a backend.  The suite
 * (test_store_contract.c) is written against store.h only; each backend's test
 * program supplies a fixture that opens, reopens and drives it.
 */
#pragma once

#include <stdbool.h>

#include "store/store.h"

typedef struct contract_backend {
    const char *name;
    /* Opens a store on fresh, empty storage for one test. */
    s6_store *(*open_fresh)(void **state);
    /* Closes st and opens the same storage again (a restart). */
    s6_store *(*reopen)(void **state, s6_store *st);
    /* Waits until *flag is set (an async backend runs its loop); fails the
     * test after a bounded time. */
    void (*wait)(void **state, const int *flag);
    void (*teardown)(void **state, s6_store *st);
} contract_backend;

/* What a completion delivered, copied out of the callback. */
typedef struct got {
    int calls;
    int rc;
    char msg[S6_STORE_ERR_MAX];
    bool found, existed;
    s6_store_snapshot snap;
    char rule_versions[512];
    s6_store_order order;
    s6_store_transfer transfer;
    s6_store_transfer list[16];
    size_t n_list;
    s6_store_order_event events[16];
    size_t n_events;
} got;

void got_done(void *ud, int rc, const char *msg, const s6_store_result *res);

/* The suite; returns cmocka's result. */
int contract_run(const contract_backend *b);
