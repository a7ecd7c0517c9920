/*
 * internal.h — the paper router's insides, shared by its files: the
 * books (one per configured market and symbol), the orders with their
 * intent index, and the due-ordered queue of answers and fills.
 */
#pragma once

#include <stdint.h>

#include "venue/paper/paper.h"

enum { S6_PAPER_DETAIL_MAX = 96 };

typedef enum s6_paper_ostate {
    S6_PO_WORKING = 1, /* a market order with parts still to fill */
    S6_PO_RESTING,     /* a stop waiting for its trigger */
    S6_PO_TRIGGERED,   /* a stop that fills at the next pump */
    S6_PO_FILLED,
    S6_PO_CANCELED,
    S6_PO_REJECTED
} s6_paper_ostate;

typedef struct s6_paper_order {
    char intent_id[S6_INTENT_ID_MAX + 1];
    char pos_id[S6_POS_ID_MAX + 1];
    size_t book;
    int type, purpose, side;
    bool reduce_only, entry;
    double qty, stop_price, filled;
    int state;                        /* s6_paper_ostate */
    int outcome;                      /* the first answer, for repeats */
    char detail[S6_PAPER_DETAIL_MAX];
    long long steps_left;             /* quantity steps still to fill */
    long long next_steps;             /* steps of the next part */
    long long part_steps;             /* steps per part after the first */
    double leverage, sl_px, risk_reserved; /* entries only */
    int concurrency_reserved;
} s6_paper_order;

typedef struct s6_paper_book {
    const s6_symbol_cfg *sym;
    double mark;                      /* 0 until the first */
    s6_paper_position pos;
    size_t *stops;                    /* resting stop orders, by index */
    size_t n_stops, cap_stops;
} s6_paper_book;

typedef enum s6_paper_qkind { S6_PQ_DONE = 1, S6_PQ_RESULT, S6_PQ_FILL } s6_paper_qkind;

typedef struct s6_paper_item {
    double due;
    uint64_t seq;
    int kind;                         /* s6_paper_qkind */
    size_t order;                     /* DONE, FILL */
    int outcome;                      /* DONE */
    s6_route_done done;
    void *cb_ud;
    s6_order_result res;              /* RESULT */
} s6_paper_item;

struct s6_paper {
    const s6_config *cfg;
    s6_paper_opts o;
    s6_paper_book *books;
    size_t n_books;
    s6_paper_order *orders;
    size_t n_orders, cap_orders;
    uint32_t *index;                  /* open addressing: order + 1, 0 empty */
    size_t index_cap;
    s6_paper_item *heap;
    size_t n_heap, cap_heap;
    uint64_t seq;
    unsigned long long results;
    double spot_free, fut_free;
    double started;                   /* clock at creation: entries' "at" */
};

/* paper_queue.c: the due-ordered queue and the intent index. */
int s6_paper_queue_push(s6_paper *p, s6_paper_item *it);
bool s6_paper_queue_pop_due(s6_paper *p, double now, s6_paper_item *out);
int s6_paper_index_put(s6_paper *p, size_t order);
long s6_paper_index_find(const s6_paper *p, const char *intent_id);
void s6_paper_queue_free(s6_paper *p);

/* paper_book.c: books, the venue's positions and the free balances. */
long s6_paper_book_find(const s6_paper *p, const char *symbol, int market);
int s6_paper_book_add_stop(s6_paper_book *b, size_t order);
void s6_paper_book_drop_stop(s6_paper_book *b, size_t order);
/* Why the venue refuses this order now, or NULL: reduceOnly, flips,
 * balances.  price: the fill price expected.  code (may be NULL): the
 * refusal's s6_result_code. */
const char *s6_paper_book_refusal(const s6_paper *p, const s6_paper_book *b,
                                  int side, bool reduce_only, double qty,
                                  double price, double leverage, int *code);
/* Moves the position and the balances by one fill. */
void s6_paper_book_apply(s6_paper *p, s6_paper_book *b, int side,
                         double qty, double price, double fee,
                         double leverage);
/* The mark moved against the order by the slippage, on the tick. */
double s6_paper_fill_price(const s6_paper *p, const s6_paper_book *b,
                           int side);
