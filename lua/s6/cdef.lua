-- Generated from s6_errors.h s6_core.h s6_rule_abi.h by src/build/gen_cdef.cmake.
-- Do not edit: change the headers, then run `cmake --build build --target cdef`.
return [[
/* ---- s6_errors.h ---- */
enum {
    S6_OK = 0,
    /* errno's own values */
    S6_EINVAL = -22,      /* an argument or input is invalid; err names it */
    S6_ENOMEM = -12,      /* out of memory */
    S6_ERANGE = -34,      /* a result or value does not fit (buffer, exponent) */
    S6_EBUSY = -16,       /* busy: a move in flight, a database locked */
    S6_ENOTFOUND = -2,    /* the record or object does not exist */
    S6_EIO = -5,          /* I/O, network or protocol failure */
    S6_ETIMEDOUT = -110,  /* the request passed its deadline */
    S6_ECANCELED = -125,  /* closed with the request in flight */
    /* S6's own */
    S6_ESHORT = -1001,        /* a series is too short for the period */
    S6_ENOTREADY = -1002,     /* an incremental indicator has not warmed up */
    S6_ECLOSED = -1003,       /* the object is closed or closing */
    S6_EURL = -1004,          /* a URL is malformed */
    S6_ECONNECT = -1005,      /* the connection failed or timed out */
    S6_EDISCONNECTED = -1006, /* the connection dropped with the request in flight */
    S6_EDOWN = -1007,         /* not connected; waiting to reconnect */
    S6_EREPLY = -1008,        /* Redis answered with an error reply */
    S6_EREDIS = -1009,        /* the Redis client refused or failed the command */
    S6_ECONFLICT = -1010,     /* a finished record cannot change */
    S6_ECONSTRAINT = -1011,   /* the store refused a constraint */
    S6_EFULL = -1012,         /* disk or quota full */
    S6_ECORRUPT = -1013       /* the file is not a store / unknown schema */
};

/* A message for every code above and for -errno values; "unknown error"
 * for anything else.  Never NULL; the string is static. */
const char *s6_strerror(int code);
/* ---- s6_core.h ---- */
/* ---- PnL and ROE (futures, isolated margin) ---- */
double s6_upnl(int side, double qty, double entry, double mark);
double s6_roe(int side, double qty, double entry, double mark,
              double isolated_margin);
double s6_price_for_roe(int side, double qty, double entry,
                        double isolated_margin, double roe);
double s6_price_for_roe_net(int side, double qty, double entry,
                            double isolated_margin, double fees_paid,
                            double exit_fee_rate, double roe);
double s6_margin_ratio(int side, double qty, double entry, double mark,
                       double wallet, double mmr, double cum);

/* ---- liquidation (Binance USD-M, isolated, one-way mode) ---- */
typedef struct s6_mm_bracket {
    double notional_floor;
    double notional_cap;
    double mmr;
    double cum;
} s6_mm_bracket;

double s6_liq_price_isolated(int side, double qty, double entry,
                             double wallet, double mmr, double cum);
double s6_liq_price_brackets(int side, double qty, double entry,
                             double wallet, const s6_mm_bracket *brackets,
                             size_t n);
double s6_liq_distance(int side, double mark, double liq);

/* ---- ATR (Wilder, as TA-Lib computes it) ---- */
typedef struct s6_atr_state {
    int period;
    int bars;          /* bars seen so far */
    double prev_close;
    double tr_sum;     /* sum of TR[1..period] during warm-up */
    double atr;        /* NaN until bars > period */
} s6_atr_state;

int s6_atr(const double *high, const double *low, const double *close,
           size_t n, int period, double *out);
int s6_atr_init(s6_atr_state *st, int period);
int s6_atr_push(s6_atr_state *st, double high, double low, double close,
                double *out);
double s6_atr_stop(int side, double entry, double atr, double k);
double s6_atr_trail(int side, double prev_stop, double extreme, double atr,
                    double k);

/* ---- add-ons ---- */
double s6_addon_qty(double q0, double gamma, int j);
double s6_avg_entry_after_add(double qty, double entry, double add_qty,
                              double add_price);

/* ---- SPOT books and hedging ---- */
double s6_wac_after_buy(double qty, double wac, double buy_qty,
                        double buy_price);
double s6_spot_realized(double sell_price, double wac, double sell_qty);
double s6_spot_unrealized(double mark, double wac, double qty);
double s6_hedge_fut_qty(double spot_qty, double fut_qty, double price,
                        double target_exposure);

/* ---- treasury ---- */
double s6_treasury_need(double min_free_fut, double free_fut);
int s6_treasury_feasible(double free_spot, double need, double spot_buffer);

/* ---- stagnation ---- */
int s6_is_stagnant(double duration_s, double t_stagnation_s, double roe,
                   double roe_min);

/* ---- exchange filters: rounding and exact decimal formatting ---- */
double s6_round_to_step(double value, double step, int dir);
double s6_round_stop(int side, double price, double tick);
double s6_round_qty(double qty, double step);
int s6_step_decimals(double step);
int s6_format_decimal(double value, double step, char *buf, size_t len);
/* ---- s6_rule_abi.h ---- */
enum {
    S6_MAX_ENTRIES = 8,       /* entry fills remembered per position */
    S6_MARKET_FUT = 0,
    S6_MARKET_SPOT = 1
};

/* What made the host evaluate; a rule lists the triggers it answers. */
enum {
    S6_TRIG_TICK = 1,
    S6_TRIG_PRICE = 2,
    S6_TRIG_FILL = 4,
    S6_TRIG_SIGNAL = 8
};

/* What a rule may propose (docs/rules.md, "Actions"). */
enum {
    S6_ACT_STOP = 1,    /* move the protective stop to price */
    S6_ACT_REDUCE = 2,  /* close qty (or fraction of the remaining qty) */
    S6_ACT_CLOSE = 3,   /* close the whole position */
    S6_ACT_ADD = 4,     /* add qty in the position's direction */
    S6_ACT_EVENT = 5,   /* emit a named event (e.g. STAGNATED) */
    S6_ACT_HEDGE = 6    /* trade signed qty on the symbol's FUT market
                           (+ buy, - sell) toward target_exposure */
};

/* One position as the rules see it.  slot is the host's stable index. */
typedef struct s6_pos_view {
    int slot;
    int market;            /* S6_MARKET_* */
    int side;              /* +1 long, -1 short */
    int add_on_count;      /* adds filled so far */
    int n_entries;         /* valid entries in entry_qty */
    int stop_step;         /* lock-in step of the current stop, 0 = none */
    int tp_step;           /* take-profit ladder steps done */
    int regime;            /* index into the host's regime names */
    double qty;            /* remaining absolute base quantity */
    double entry;          /* average entry price */
    double margin;         /* isolated margin (FUT) or cost basis (SPOT) */
    double fees_paid;      /* quote fees charged so far */
    double exit_fee_rate;  /* taker fee rate of a closing order */
    double leverage;
    double opened_at;      /* seconds, host clock */
    double last_add_at;    /* seconds, 0 = never */
    double stop;           /* current protective stop, 0 = none */
    double best_price;     /* highest mark since entry (long), lowest (short) */
    double roe;            /* computed by the host for this evaluation */
    double upnl;
    double liq_price;      /* 0 = none */
    double liq_distance;   /* +inf when no liquidation price */
    double hedge_qty;      /* SPOT: signed futures quantity held on the
                              symbol's FUT market (+ long, - short) */
    double target_exposure; /* SPOT: net spot + futures exposure to hold,
                               quote; NaN = no hedging for the symbol */
    double entry_qty[8];   /* S6_MAX_ENTRIES; [0] is the first entry */
} s6_pos_view;

/* The market of one symbol at evaluation time. */
typedef struct s6_mkt_view {
    double now;            /* seconds, host clock */
    double mark;
    double last;
    double mid;
    double atr;            /* NaN when unknown */
    double health;         /* 0..1 feed health, 1 = good */
    int signal_side;       /* +1/-1 for a fresh strategy signal, 0 = none */
    int trigger;           /* S6_TRIG_* that caused this evaluation */
    double signal_strength;
} s6_mkt_view;

/* Proposals flow from the trusted Lua loop into a host-owned sink. */
typedef struct s6_sink s6_sink;

/* step: STOP only, the lock-in step the stop reaches (0 = none). */
int s6_sink_action(s6_sink *sink, int pos_index, int rule_id, int kind,
                   double price, double qty, double fraction, int step,
                   const char *name, const char *reason);
/* A rule returned n actions more than its cap; they were not sunk. */
void s6_sink_capped(s6_sink *sink, int rule_id, unsigned n);
/* 1 when a rule may emit an event of this name: [A-Za-z0-9_.:-], at most
 * 31 characters, none of the engine's own event types (the guard's test). */
int s6_rule_event_ok(const char *name);

/*
 * Per-position rule state, as JSON, keyed by (slot, rule id).  gen changes
 * whenever a state is set, so the Lua side can cache decoded tables and
 * notice when the host replaced one (restore, slot reuse).
 */
typedef struct s6_state_store s6_state_store;

unsigned s6_state_gen(const s6_state_store *st, int slot, int rule_id);
const char *s6_state_get(const s6_state_store *st, int slot, int rule_id,
                         size_t *len);
unsigned s6_state_set(s6_state_store *st, int slot, int rule_id,
                      const char *json, size_t len);

/* Where a batch starts and, while it runs, where it is; skip[i] != 0
 * suspends the rule at Lua index i+1 for the rest of the batch. */
typedef struct s6_eval_progress {
    int pos;
    int rule;
    unsigned char skip[64];
} s6_eval_progress;
]]
