/*
 * names.h — the one table of the wire names of markets, order sides and
 * order purposes, shared by every codec, the config, the API, the engine
 * and the venues.
 */
#pragma once

#include "contract/s6_rule_abi.h"

enum { S6_MARKET_COUNT = 2 };

/* Indexed by S6_MARKET_*. */
extern const char *const s6_market_names[S6_MARKET_COUNT];
/* Index 0 BUY (+1), 1 SELL (-1). */
extern const char *const s6_side_names[2];

/* "FUT" | "SPOT"; NULL for anything else. */
const char *s6_market_name(int market);
/* S6_MARKET_* of an exact name, or S6_EINVAL. */
int s6_market_parse(const char *name);
/* S6_MARKET_* whose name `text` starts with, or S6_EINVAL. */
int s6_market_parse_prefix(const char *text);

/* "BUY" for +1, "SELL" for -1; NULL for anything else. */
const char *s6_side_name(int side);
/* +1, -1 for the index of s6_side_names; 0 for anything else. */
int s6_side_of_index(int idx);

/* What an order is for; also the intent id's action letters. */
typedef enum s6_order_purpose {
    S6_PURPOSE_STOP = 1,  /* "sl" */
    S6_PURPOSE_TP,        /* "tp" */
    S6_PURPOSE_ADD,       /* "add" */
    S6_PURPOSE_CLOSE,     /* "cl" */
    S6_PURPOSE_HEDGE,     /* "hg" */
    S6_PURPOSE_COUNT
} s6_order_purpose;

/* The action letters of a purpose ("sl", "tp", "add", "cl", "hg"), which
 * go into intent ids and order bodies; NULL for anything else. */
const char *s6_purpose_name(int purpose);
