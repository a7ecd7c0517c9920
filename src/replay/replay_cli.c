/*
 * replay_cli.c — the `replay` subcommand's arguments and output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/replay.h"
#include "replay/replay_cli.h"
#include "util/text_file.h"
#include "replay/whatif.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, MAX_PRICE_FILES = 256 };

typedef struct args {
    const char *prices[MAX_PRICE_FILES];
    size_t n_prices;
    const char *positions, *rules, *report, *config;
    bool native, quiet;
    const char *compare[2];  /* --compare DIR_A DIR_B */
    s6_sweep sweep;          /* --sweep, --by, --jobs */
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: s6-position replay PRICES.csv... --positions FILE\n"
            "                          [--rules DIR] [--native] "
            "[--report FILE.html]\n"
            "                          [--config FILE] [--quiet]\n"
            "       s6-position replay PRICES.csv... --positions FILE "
            "--compare DIR_A DIR_B\n"
            "       s6-position replay PRICES.csv... --positions FILE "
            "--sweep RULE.PARAM=V1,V2,...\n"
            "                          [--sweep ...] [--by pnl|drawdown|ratio] "
            "[--jobs N]\n\n"
            "Replays recorded prices through the engine and the rules with "
            "the paper\nrouter and prints the timeline of every action, the "
            "final PnL per\nposition and a summary (docs/replay.md).\n\n"
            "  --positions FILE   the positions opened at start "
            "(examples/positions/)\n"
            "  --rules DIR        the rule scripts (default: the config's "
            "rules.dir)\n"
            "  --native           the native-C reference of the shipped "
            "rules\n"
            "  --report FILE      a self-contained HTML chart per position\n"
            "  --config FILE      default: $S6_CONFIG or config/s6.json\n"
            "  --quiet            tables only, no timeline lines\n"
            "  --compare A B      the same inputs through the rules of folders "
            "A and B:\n"
            "                     figures side by side, where the timelines "
            "part\n"
            "  --sweep R.P=V,...  a grid of parameter values (repeat for more "
            "parameters),\n"
            "                     run in parallel, ranked; lists count from 1: "
            "steps[1].roe\n"
            "  --by FIGURE        what ranks a sweep: pnl (default), drawdown, "
            "ratio\n"
            "  --jobs N           worker processes of a sweep (default: the "
            "cores)\n");
}

/* The option's value, or NULL after saying what is missing. */
static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "s6-position replay: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int sweep_option(args *a, const char *opt, const char *v)
{
    char err[512];
    char *end;
    if (strcmp(opt, "--sweep") == 0 &&
        s6_sweep_parse(&a->sweep, v, err, sizeof err) != 0) {
        fprintf(stderr, "s6-position replay: %s\n", err);
        return -1;
    }
    if (strcmp(opt, "--by") == 0 &&
        s6_sweep_order_parse(v, &a->sweep.by) != 0) {
        fprintf(stderr, "s6-position replay: --by '%s': one of pnl, "
                        "drawdown, ratio\n", v);
        return -1;
    }
    if (strcmp(opt, "--jobs") == 0) {
        long n = strtol(v, &end, 10);
        if (*end != '\0' || n < 1 || n > 64) {
            fprintf(stderr, "s6-position replay: --jobs '%s': a number "
                            "from 1 to 64\n", v);
            return -1;
        }
        a->sweep.jobs = (unsigned)n;
    }
    return 0;
}

/* --compare names both rule folders; a sweep varies the Lua rules'
 * parameters (of --rules' folder, or the config's). */
static int check_modes(const args *a)
{
    bool compare = a->compare[0] != NULL, sweep = a->sweep.n_dims > 0;
    const char *clash = compare && (sweep || a->native || a->rules)
                            ? "--compare goes with none of --sweep, --native, "
                              "--rules"
                        : sweep && a->native ? "--sweep varies the Lua rules' "
                                               "parameters, not --native's"
                                             : NULL;
    if (clash != NULL)
        fprintf(stderr, "s6-position replay: %s\n", clash);
    return clash ? -1 : 0;
}

static int parse(int argc, char **argv, args *a)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        { "--positions", offsetof(args, positions) },
        { "--rules", offsetof(args, rules) },
        { "--report", offsetof(args, report) },
        { "--config", offsetof(args, config) },
    };
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        size_t k = 0;
        while (k < sizeof opts / sizeof *opts && strcmp(s, opts[k].name))
            k++;
        if (k < sizeof opts / sizeof *opts) {
            const char **dst = (const char **)((char *)a + opts[k].off);
            if ((*dst = value(argc, argv, &i)) == NULL)
                return -1;
        } else if (strcmp(s, "--compare") == 0) {
            if ((a->compare[0] = value(argc, argv, &i)) == NULL ||
                (a->compare[1] = value(argc, argv, &i)) == NULL)
                return -1;
        } else if (strcmp(s, "--sweep") == 0 || strcmp(s, "--by") == 0 ||
                   strcmp(s, "--jobs") == 0) {
            const char *v = value(argc, argv, &i);
            if (v == NULL || sweep_option(a, s, v) != 0)
                return -1;
        } else if (strcmp(s, "--native") == 0) {
            a->native = true;
        } else if (strcmp(s, "--quiet") == 0) {
            a->quiet = true;
        } else if (s[0] == '-' && s[1] != '\0') {
            fprintf(stderr, "s6-position replay: unknown option '%s'\n", s);
            return -1;
        } else if (a->n_prices == MAX_PRICE_FILES) {
            fprintf(stderr, "s6-position replay: more than %d price files\n",
                    MAX_PRICE_FILES);
            return -1;
        } else {
            a->prices[a->n_prices++] = s;
        }
    }
    if (check_modes(a) != 0)
        return -1;
    if (a->n_prices == 0 || a->positions == NULL) {
        fprintf(stderr, "s6-position replay: %s\n",
                a->n_prices == 0 ? "no price file given"
                                 : "--positions FILE is required");
        return -1;
    }
    return 0;
}

static void title(const args *a, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "prices:");
    for (size_t i = 0; i < a->n_prices && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, " %s",
                              s6_base_name(a->prices[i]));
    if (n < cap)
        snprintf(out + n, cap - n, " | positions: %s | rules: %s",
                 s6_base_name(a->positions),
                 a->native ? "native reference" : a->rules ? a->rules
                                                           : "config");
}

static void summary(FILE *f, const args *a, const s6_replay_stats *st)
{
    fprintf(f, "\nSummary\n");
    fprintf(f, "  %-18s %s\n", "rules", a->native ? "native reference"
                                                  : "Lua rule host");
    fprintf(f, "  %-18s %zu\n", "price updates", st->updates);
    fprintf(f, "  %-18s %zu\n", "manage ticks", st->ticks);
    fprintf(f, "  %-18s %zu\n", "signals", st->signals);
    fprintf(f, "  %-18s %zu\n", "timeline events", st->notes);
    fprintf(f, "  %-18s %zu\n", "paper fills", st->fills);
    fprintf(f, "  %-18s %zu\n", "refused results", st->refused);
}

static int one_run(const args *a, const s6_replay_opts *o, char *err,
                   size_t errlen)
{
    s6_replay_stats st;
    int rc = s6_replay_files(o, a->prices, a->n_prices, a->positions, &st,
                             err, errlen);
    if (rc == 0) {
        summary(stdout, a, &st);
        /* Wall time is not part of the timeline: it would differ by run. */
        fprintf(stderr, "replay: %zu updates in %.3f s (%.0f updates/s)\n",
                st.updates, st.wall_s,
                st.wall_s > 0 ? st.updates / st.wall_s : 0);
    }
    return rc;
}

/* --compare and --sweep: the inputs are read once for every run. */
static int what_if(const args *a, const s6_replay_opts *o, char *err,
                   size_t errlen)
{
    s6_replay_inputs in;
    int rc = s6_replay_inputs_load(&in, o->cfg, a->prices, a->n_prices,
                                   a->positions, err, errlen);
    if (rc != 0)
        return rc;
    rc = a->compare[0] ? s6_replay_compare(o, &in, a->compare[0],
                                           a->compare[1], stdout, err, errlen)
                       : s6_replay_sweep(o, &in, &a->sweep, stdout, err,
                                         errlen);
    s6_replay_inputs_free(&in);
    return rc;
}

int s6_replay_main(int argc, char **argv)
{
    args a = { 0 };
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (parse(argc, argv, &a) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *env = getenv("S6_CONFIG");
    const char *path = a.config ? a.config
                       : env && env[0] ? env : "config/s6.json";
    s6_config cfg;
    s6_config_error cerr;
    if (s6_config_load_file(path, &cfg, &cerr) != 0) {
        fprintf(stderr, "s6-position replay: %s\n", cerr.message);
        return EXIT_FAILED;
    }
    s6_log log;
    s6_log_init(&log, S6_LOG_WARN);
    const char *level = getenv("S6_LOG_LEVEL");
    if (level != NULL)
        s6_log_level_parse(level, &log.level);
    char head[1024];
    title(&a, head, sizeof head);
    s6_replay_opts o = { .cfg = &cfg, .rules_dir = a.rules,
                         .native = a.native, .out = stdout,
                         .timeline = !a.quiet,
                         .progress = isatty(STDERR_FILENO) ? stderr : NULL,
                         .report = a.report, .chartjs = getenv("S6_CHARTJS"),
                         .title = head, .log = &log };
    char err[1024] = "";
    int rc = a.compare[0] || a.sweep.n_dims ? what_if(&a, &o, err, sizeof err)
                                            : one_run(&a, &o, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "s6-position replay: %s\n", err);
    s6_config_free(&cfg);
    return rc == 0 ? 0 : EXIT_FAILED;
}
