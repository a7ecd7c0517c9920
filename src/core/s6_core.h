/*
 * s6_core.h — the pure, I/O-free primitives of the S6 position manager.
 *
 * This header is the single source of truth for the FFI declarations that
 * LuaJIT uses (lua/s6/cdef.lua is generated from the block between the
 * S6_FFI_BEGIN and S6_FFI_END markers; a ctest checks they agree).  Keep that
 * block free of preprocessor lines and of anything LuaJIT's C parser refuses.
 *
 * Conventions (docs/primitives.md has each formula and its source):
 *   side  +1 long, -1 short; anything else is invalid input.
 *   qty   absolute base quantity, > 0.
 *   Prices, margins and wallet balances are finite and > 0 unless a function
 *   says otherwise.  Functions returning double give NaN for invalid input;
 *   functions returning int give 0 (or a count) on success and a negative
 *   code of core/s6_errors.h on failure.
 */
#pragma once

#include <stddef.h>

#include "core/s6_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* S6_FFI_BEGIN */
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
/* S6_FFI_END */

#ifdef __cplusplus
}
#endif
