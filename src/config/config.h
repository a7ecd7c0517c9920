/*
 * config.h — the one configuration of s6-position: a JSON file
 * (config/s6.json), validated key by key, defaults for every omitted key,
 * environment overrides for the deploy basics, and a validate-then-swap
 * holder that hot-reloads it.
 *
 * Every key lives in ONE table (keys.c, s6_config_keys): its path, type,
 * range, unit, default and meaning.  That table fills the defaults, drives
 * the validation, refuses unknown keys, and is what docs/configuration.md
 * lists (a test checks the two agree).  A typo therefore fails loudly
 * instead of silently falling back to a default.
 */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/s6_core.h"     /* s6_mm_bracket */
#include "contract/s6_rule_abi.h" /* S6_MARKET_FUT, S6_MARKET_SPOT */
#include "util/json_out.h"
#include "util/log.h"
#include "reload/watch.h"

typedef enum s6_s4_mode { S6_S4_PAPER = 0, S6_S4_HTTP } s6_s4_mode;
typedef enum s6_history_backend {
    S6_HISTORY_SQLITE = 0,
    S6_HISTORY_ARANGODB
} s6_history_backend;

/* A number that may be absent (JSON null). */
typedef struct s6_opt_num {
    bool set;
    double v;
} s6_opt_num;

typedef struct s6_str_list {
    char **v;
    size_t n;
} s6_str_list;

typedef struct s6_bracket_list {
    s6_mm_bracket *v; /* sorted, contiguous, first floor 0 */
    size_t n;
    bool borrowed;    /* v is an earlier symbol's identical table, freed
                         with it: thousands of symbols share a few */
} s6_bracket_list;

/* rules.params.<rule>, as the rule host's add_rule takes it. */
typedef struct s6_rule_params_cfg {
    char *rule;
    char *params_json; /* {"base":{...},"regimes":{"<regime>":{...}}} */
} s6_rule_params_cfg;

typedef struct s6_rule_params_list {
    s6_rule_params_cfg *v;
    size_t n;
} s6_rule_params_list;

typedef struct s6_symbol_cfg {
    char *name; /* "BTCUSDT" (the key without a :FUT/:SPOT suffix) */
    int market; /* S6_MARKET_FUT or S6_MARKET_SPOT */
    bool suffixed; /* the file's key carries the :FUT/:SPOT suffix */
    double tick, step, min_qty, min_notional;
    double taker_fee, maker_fee, leverage;
    s6_bracket_list brackets; /* FUT only */
    s6_opt_num target_exposure; /* hedge target E*, quote currency */
} s6_symbol_cfg;

typedef struct s6_trigger_cfg {
    bool enabled;
    uint32_t min_interval_s;
    double threshold;
} s6_trigger_cfg;

typedef struct s6_config {
    struct {
        char *host;
        uint32_t port;
        uint32_t max_body_bytes, header_timeout_ms, idle_timeout_ms;
    } http;
    struct {
        char *url;
        uint32_t wait_replicas, wait_timeout_ms; /* WAIT after a barrier */
    } redis;
    struct {
        char *s4_url, *s1_url, *s12_url;
        uint32_t connect_timeout_ms, request_timeout_ms;
    } services;
    struct {
        int mode; /* s6_s4_mode */
    } s4;
    struct {
        uint32_t manage_interval_s, reconcile_interval_s, treasury_interval_s;
    } ticks;
    struct {
        uint32_t count, index; /* symbols split in count shards; ours */
        char *http_url; /* named to clients of other shards; "": derived */
    } shard;
    struct {
        double max_age_s, jump_hold_frac;
    } market_data;
    struct {
        char *dir;
        uint32_t deadline_ms;
        double deadline_us_per_eval;
        uint32_t mem_limit_mb, load_deadline_ms, rollback_faults;
        uint32_t clean_batches;
        double shadow_promote_after_s;
        s6_str_list regimes; /* index 0 is the default regime */
        s6_rule_params_list params;
    } rules;
    struct {
        double max_position_qty, max_position_notional, max_leverage;
        double daily_loss_limit, budget;
        uint32_t max_concurrent_positions;
        uint32_t add_on_cap, add_on_min_interval_s;
        double first_stop_max_loss_roe, liq_distance_alert_frac;
        double stop_min_move_frac;
        double margin_alert_ratio, margin_add_target_ratio, margin_add_max;
        uint32_t margin_add_min_interval_s;
        bool margin_add_enabled, enforce_entry_limits;
    } risk;
    struct {
        double entry_tolerance_frac, margin_tolerance;
    } reconcile;
    struct {
        double rate_per_symbol_per_s, rate_total_per_s;
        uint32_t retry_initial_ms, retry_max_ms, retry_max_attempts;
    } orders;
    struct {
        int backend; /* s6_history_backend */
        char *path;
        char *arangodb_url, *database, *user, *password_env;
    } history;
    struct {
        bool enabled, full_auto;
        double min_free_fut, spot_buffer, max_per_transfer, max_per_day;
        double min_spot_retained, profit_ceiling;
        uint32_t approval_poll_s, balances_max_age_s;
        s6_trigger_cfg scheduled, margin_call, risk_limit, profit_taking,
            insufficient_balance;
    } treasury;
    struct {
        char *token;     /* resolved: token_env's value when that is set */
        char *token_env;
    } auth;
    struct {
        int level; /* s6_log_level */
    } log;
    struct {
        double slippage_bps, spot_balance, fut_balance;
        uint32_t latency_ms, partial_fills;
        char *positions; /* "" = none */
    } paper;
    struct {
        char *dir;
        double speed;
        uint32_t atr_bar_s;
    } replay;
    s6_symbol_cfg *symbols;
    size_t n_symbols;
    /* The effective document (file + defaults + env) without "symbols":
     * the symbols are kept decoded only, a few hundred bytes each where
     * their JSON took kilobytes; s6_config_public_json writes them back. */
    json_t *doc;
} s6_config;

typedef struct s6_config_error {
    char path[160];    /* key path, e.g. "symbols.BTCUSDT.tick"; "" if none */
    char reason[320];
    char file[PATH_MAX];
    int line, column;  /* > 0 for JSON syntax errors */
    char message[1024]; /* the whole story in one line, for logs/health */
} s6_config_error;

/* ---- the key table, for docs, tests and tools ---- */
typedef enum s6_cfg_type {
    S6_CT_BOOL = 0,
    S6_CT_U32,
    S6_CT_NUM,
    S6_CT_OPTNUM,
    S6_CT_STR,
    S6_CT_HOST,
    S6_CT_URL,
    S6_CT_ENVNAME,
    S6_CT_ENUM,
    S6_CT_STRLIST,
    S6_CT_PARAMS,
    S6_CT_BRACKETS,
    S6_CT_COUNT
} s6_cfg_type;

enum {
    S6_CK_RESTART = 1u << 0, /* read once at start; reload reports it */
    S6_CK_SECRET = 1u << 1,  /* never shown in /health or logs */
    S6_CK_GT_MIN = 1u << 2,  /* strictly greater than min */
};

typedef struct s6_cfg_key {
    const char *path;   /* "symbols.*.tick": '*' is any symbol name */
    s6_cfg_type type;
    size_t off;         /* in s6_config, or in s6_symbol_cfg under "symbols.*" */
    const char *def;    /* JSON text of the default; NULL: required */
    double min, max;    /* numbers: value range; strings: length range */
    const char *arg;    /* ENUM: "a|b"; URL: allowed schemes "http|https" */
    unsigned flags;
    const char *unit;
    const char *doc;
} s6_cfg_key;

typedef struct s6_cfg_env {
    const char *var;
    const char *path;
} s6_cfg_env;

extern const s6_cfg_key s6_config_keys[];
extern const size_t s6_config_nkeys;
extern const s6_cfg_env s6_config_envs[];
extern const size_t s6_config_nenvs;
const char *s6_cfg_type_name(s6_cfg_type t);

/* ---- loading ---- */

/* Parses, fills defaults, validates.  On failure *out is untouched and err
 * names the key and the reason (file:line:column for syntax errors). */
int s6_config_load_file(const char *path, s6_config *out,
                        s6_config_error *err);
/* The same from JSON text; `name` stands for the file in messages. */
int s6_config_load_text(const char *text, const char *name, s6_config *out,
                        s6_config_error *err);
/* Environment overrides of the deploy basics (s6_config_envs), validated
 * as the file's keys are.  An empty variable counts as unset.  On failure
 * cfg is unchanged and err names the variable and the key. */
int s6_config_apply_env(s6_config *cfg, s6_config_error *err);
void s6_config_free(s6_config *cfg);

/* market: S6_MARKET_FUT or S6_MARKET_SPOT.  NULL when the symbol is not configured there. */
const s6_symbol_cfg *s6_config_symbol(const s6_config *cfg, int market,
                                      const char *name);
/* params_json for rule `name`, or NULL when the config has no overrides. */
const char *s6_config_rule_params(const s6_config *cfg, const char *name);
/* Every rule named under rules.params must be one of `names` (the rule
 * host's rules): an override for "atr_stp" would otherwise do nothing.
 * Returns 0, or -EINVAL with err naming rules.params.<rule>. */
int s6_config_check_rule_names(const s6_config *cfg, const char *const *names,
                               size_t n, s6_config_error *err);
/* Fills err as the loader does ("<file>: <path>: <reason>"), for checks
 * made outside the loader; returns -EINVAL. */
int s6_config_error_set(s6_config_error *err, const char *file,
                        const char *path, const char *reason);
/* The effective document with secrets replaced by "***" (caller decrefs). */
json_t *s6_config_public_json(const s6_config *cfg);

/* ---- validate-then-swap holder, hot-reloaded on the loop thread ---- */
typedef struct s6_config_live s6_config_live;
/* Called on the loop thread after a swap; `old` is freed after the last
 * subscriber returns, so keep nothing that points into it. */
typedef void (*s6_config_sub_cb)(s6_config_live *live, const s6_config *old,
                                 const s6_config *cur, void *ud);

/* Before a swap: what the file alone cannot tell (a rule parameter
 * against the rule's schema).  0, or an error naming the key; a refusal
 * keeps the running config, as any other config error. */
typedef int (*s6_config_check_cb)(void *ud, const s6_config *fresh,
                                  s6_config_error *err);

/* The same check when it takes long (it builds worker processes): it
 * starts and returns; its answer comes later, on the loop thread, through
 * s6_config_live_checked (exactly once).  `fresh` stays valid until then. */
typedef void (*s6_config_check_async_cb)(void *ud, const s6_config *fresh,
                                         s6_config_live *live);

enum { S6_CONFIG_MAX_SUBS = 16, S6_CONFIG_MAX_PENDING = 32 };

struct s6_config_live {
    char path[PATH_MAX];
    char dir[PATH_MAX];
    bool use_env;
    s6_log *log;
    s6_config *cur;
    unsigned version;         /* 1 after the first load; bumps on each swap */
    unsigned reloads, failures, unchanged;
    bool has_error;           /* the last attempt was refused */
    s6_config_error last_error;
    /* keys (paths from s6_config_keys) whose file value differs from the
     * running one: they keep the running value until a restart */
    const char *restart_pending[S6_CONFIG_MAX_PENDING];
    unsigned n_restart_pending;
    struct {
        s6_config_sub_cb cb;
        void *ud;
    } subs[S6_CONFIG_MAX_SUBS];
    unsigned n_subs;
    s6_config_check_cb check;  /* the last word before a swap, or NULL */
    void *check_ud;
    s6_config_check_async_cb check_async; /* after `check`, or NULL */
    void *check_async_ud;
    s6_config *checking;       /* waiting for check_async's answer */
    bool again;                /* the file changed meanwhile */
    s6_watch watch;
    bool watching;
};

/* Loads `path` (plus the environment when use_env) as the first version. */
int s6_config_live_init(s6_config_live *live, const char *path, bool use_env,
                        s6_log *log, s6_config_error *err);
int s6_config_live_subscribe(s6_config_live *live, s6_config_sub_cb cb,
                             void *ud);
/* One check every reload must pass before it swaps (NULL: none). */
void s6_config_live_set_check(s6_config_live *live, s6_config_check_cb cb,
                              void *ud);
/* A check that answers later; while it runs, a further change waits for
 * its answer, then the file is read again. */
void s6_config_live_set_check_async(s6_config_live *live,
                                    s6_config_check_async_cb cb, void *ud);
/* check_async's answer: 0 swaps the config it was given in, else it is
 * refused with err like any config error. */
void s6_config_live_checked(s6_config_live *live, int rc,
                            const s6_config_error *err);
/* Watches the file's folder for *.json changes (debounced by quiet_ms). */
int s6_config_live_watch(s6_config_live *live, uv_loop_t *loop,
                         uint64_t quiet_ms);
/* Re-reads the file now.  1: swapped; 0: no change, or the async check
 * is on its way; < 0: refused (the good config stays, last_error says
 * why). */
int s6_config_live_reload(s6_config_live *live);
static inline const s6_config *s6_config_live_get(const s6_config_live *l)
{
    return l->cur;
}
/* GET /health's checks.config: {"path","version","reloads","failures",
 * "last_error","last_error_key","restart_pending"}, written into w; the
 * tree form parses that text back (tests, readers of the document). */
void s6_config_live_health_write(const s6_config_live *live, s6_jw *w);
json_t *s6_config_live_health(const s6_config_live *live);
void s6_config_live_stop(s6_config_live *live);
/* After the loop has closed the watcher. */
void s6_config_live_free(s6_config_live *live);
