/*
 * s6_rule_registry: the rule files of a folder, the last good version of
 * each, and the live ruleset built from them.
 *
 * Validate-then-swap: a changed file is compiled into a fresh ruleset
 * together with the other good versions and self-checked; only if that
 * passes does it become the good version, and only then is a new live
 * ruleset built and swapped in (between evaluations: the registry is used
 * from one thread).  A version that keeps failing on live positions is
 * rolled back to the one before it, a new one quarantined; a rule that
 * killed its worker at once (s6_registry_maintain).
 */
#pragma once

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/ruleset.h"

enum { S6_REG_MAX_RULES = 64, S6_RULE_NAME_MAX = 64 };

/* How a shadow's plan can differ from the live one, one count each. */
typedef enum s6_shadow_kind {
    S6_SHADOW_STOP, S6_SHADOW_REDUCE, S6_SHADOW_ADD, S6_SHADOW_HEDGE,
    S6_SHADOW_EVENT, S6_SHADOW_KINDS
} s6_shadow_kind;

typedef struct s6_rule_entry {
    int id;
    int present;              /* 0 once its file is gone */
    char name[S6_RULE_NAME_MAX];
    char chunkname[PATH_MAX];
    char *good;               /* source of the live version */
    size_t good_len;
    char hash[17];            /* content hash of the live version */
    char *prev;               /* the version before, for rollback */
    size_t prev_len;
    char prev_hash[17];
    /* The last version that ran cleanly: clean_batches batches in a row
     * with the live set and no fault of this rule (docs/rules.md).  What a
     * rollback goes back to; `prev` only when none did yet. */
    char *proven;
    size_t proven_len;
    char proven_hash[17];
    unsigned clean;           /* clean batches of the live version so far */
    int faulted;              /* faulted in the batch being run */
    int rolled_back;          /* runs an older version than its file holds */
    char bad_hash[17];        /* the version rolled back: not tried again */
    char params_hash[17];     /* of the parameters it was last built with */
    char last_error[512];     /* last rejected candidate or runtime fault */
    unsigned faults;          /* runtime faults of the live version */
    int quarantined;          /* out of the live set until its file changes */
    /* A shadow version (<name>.shadow.lua): evaluated beside the live one
     * on the live positions, its plans compared and never acted on. */
    char *shadow;
    size_t shadow_len;
    char shadow_hash[17];
    int shadow_present;       /* its file is there (this scan) */
    char shadow_error[512];   /* the shadow file's refusal, or its fault */
    unsigned shadow_faults;
    uint64_t shadow_since_ms; /* when it started (the caller's clock) */
    unsigned long long shadow_evals;  /* positions compared */
    unsigned long long shadow_differed; /* ... whose plans differed */
    unsigned long long shadow_diff[S6_SHADOW_KINDS]; /* by s6_shadow_kind */
    char shadow_last_diff[256];
} s6_rule_entry;

typedef struct s6_rule_pending {
    int entry;                /* index into rules[] */
    int shadow;               /* the candidate is the rule's shadow */
    char *src;
    size_t len;
} s6_rule_pending;

typedef struct s6_rule_registry {
    char dir[PATH_MAX];
    s6_ruleset_opts opts;     /* on_fault is the registry's own */
    s6_rule_entry rules[S6_REG_MAX_RULES];
    int n;
    s6_ruleset *live;
    s6_ruleset *next;         /* last accepted trial, while reloading */
    unsigned version;         /* bumps on every swap */
    unsigned reloads, reload_failures, rollbacks;
    unsigned quarantines;     /* new rules taken out for their faults */
    unsigned restarts;        /* live sets rebuilt after their worker died */
    unsigned rollback_faults; /* faults of a new version before rollback */
    unsigned clean_batches;   /* clean batches that prove a version */
    int rollback_pending;
    s6_ruleset *shadow_set;   /* the shadow versions, NULL when none */
    int shadow_dirty;         /* shadow_set no longer matches the entries */
    unsigned promotions;
    char last_error[512];
    s6_rule_pending pend[S6_REG_MAX_RULES]; /* candidates of the last scan */
    int npend, ipend;
    s6_fault_cb user_fault;   /* called after the registry counted it */
    void *user_ud;
    s6_fault_cb user_shadow_fault; /* a shadow's fault, after it counted */
    char scan_note[512];      /* a shadow file without a live rule */
    /* The config's parameter overrides of a rule, as add_rule takes them
     * ({"base":{},"regimes":{}}), or NULL; read whenever a set is built. */
    const char *(*params_of)(void *ud, const char *rule);
    void *params_ud;
} s6_rule_registry;

/* opts->on_fault/fault_ud are the caller's; the registry wraps them. */
int s6_registry_init(s6_rule_registry *reg, const char *dir,
                     const s6_ruleset_opts *opts);
/* Loads every *.lua of the folder; fails (file:line in err) if any fails. */
int s6_registry_load(s6_rule_registry *reg, char *err, size_t errlen);
/* Re-reads the folder; returns the number of rules whose version changed
 * (0 when nothing did or every candidate was refused: see last_error). */
int s6_registry_reload(s6_rule_registry *reg);

/*
 * The same in steps, so candidates can be tried away from the event loop
 * (each one is a worker process the caller waits for on another thread):
 * scan, then trial_next / trial_run (any thread) / trial_done until
 * trial_next gives NULL, then reload_finish.  Only one reload at a time;
 * reloads++ is the caller's.
 */
typedef struct s6_rule_trial {
    int entry;
    int shadow;               /* tried as the rule's shadow */
    char *src;                /* the candidate's text */
    size_t len;
    s6_ruleset_opts opts;
    s6_rule_src srcs[S6_REG_MAX_RULES]; /* copies: the registry moves on */
    size_t n;
    s6_ruleset *set;          /* the trial set, when it passed */
    unsigned version;         /* the registry's when the trial began */
    int rc;
    char err[512];
} s6_rule_trial;

int s6_registry_scan(s6_rule_registry *reg, char *err, size_t errlen);
/* A trial of the live versions with other parameters (a config about to
 * be swapped in): entry -1; run it like any trial, then free it or adopt
 * its set. */
s6_rule_trial *s6_registry_trial_params(
    s6_rule_registry *reg, const char *(*params_of)(void *, const char *),
    void *ud);
/* Makes `set` (a passed trial's, built while `version` did not move) the
 * live set.  0 or a negative code. */
int s6_registry_adopt(s6_rule_registry *reg, s6_ruleset *set);
s6_rule_trial *s6_registry_trial_next(s6_rule_registry *reg);
void s6_registry_trial_run(s6_rule_trial *t);
/* Accepts (1) or refuses (0) the candidate; frees t. */
int s6_registry_trial_done(s6_rule_registry *reg, s6_rule_trial *t);
void s6_registry_trial_free(s6_rule_trial *t);
/* changed: the candidates accepted, or the scan's negative code. */
int s6_registry_reload_finish(s6_rule_registry *reg, int changed,
                              const char *scan_err);
/* Rebuilds the live set from the good versions (after the parameters or
 * the regimes changed): validate-then-swap, the old set stays on failure
 * (last_error says why).  0 or a negative code. */
int s6_registry_rebuild(s6_rule_registry *reg);
/* Between evaluations: applies a pending rollback (a changed rule) or
 * quarantine (a new rule), and rebuilds a live set whose worker died.
 * Returns 1 if the live set changed. */
int s6_registry_maintain(s6_rule_registry *reg);
/* After a batch the live set ran (rc its result): a rule without a fault
 * in it counts one clean batch, and clean_batches of them in a row make
 * its live version the one a rollback returns to. */
void s6_registry_batch_done(s6_rule_registry *reg, int rc);
/* Builds the set of shadow versions again when they changed (a shadow
 * file saved, removed or promoted); now_ms stamps new shadows.  0 or a
 * negative code (the shadows stay out, shadow_error says why). */
int s6_registry_shadow_sync(s6_rule_registry *reg, uint64_t now_ms);
/* Makes the rule's shadow its live version, in steps so the check can run
 * away from the event loop: promote_trial (NULL with *rc S6_ENOTFOUND, no
 * such rule, or S6_EINVAL, no shadow, and err), s6_registry_trial_run on
 * any thread (the set as it will run, built, probed and self-checked),
 * then promote_done (frees t): the shadow's text is written over
 * <name>.lua (so the folder and the service agree, and a restart runs it),
 * the shadow file removed and the set goes live.  0, or S6_ECONSTRAINT
 * (the set refused) / S6_EBUSY (the rules changed while it was checked) /
 * an I/O error with err saying why; nothing changes on failure. */
s6_rule_trial *s6_registry_promote_trial(s6_rule_registry *reg,
                                         const char *name, int *rc, char *err,
                                         size_t errlen);
int s6_registry_promote_done(s6_rule_registry *reg, s6_rule_trial *t,
                             char *err, size_t errlen);
const s6_rule_entry *s6_registry_find(const s6_rule_registry *reg,
                                      const char *name);
/* out[id] = the live version's hash of rule id (NULL if none), for ids
 * below n; returns how many ids the registry has. */
int s6_registry_hashes(const s6_rule_registry *reg, const char **out,
                       size_t n);
void s6_registry_free(s6_rule_registry *reg);
/* FNV-1a 64 of the text, as 16 hex digits: names a rule version. */
void s6_rule_hash(const char *text, size_t len, char out[17]);
