/*
 * test_config_docs: docs/configuration.md lists every key of the key table
 * with its type, default, unit and reload behaviour, exactly as the table
 * says, and lists no key the table lacks; every environment override is
 * there too.  `test_config_docs --print` prints the rows to paste.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

static void type_text(const s6_cfg_key *k, char *out, size_t n)
{
    const char *lo = (k->flags & S6_CK_GT_MIN) ? "(" : "[";
    switch (k->type) {
    case S6_CT_U32:
        snprintf(out, n, "integer in [%.15g, %.15g]", k->min, k->max);
        break;
    case S6_CT_NUM:
        snprintf(out, n, "number in %s%.15g, %.15g]", lo, k->min, k->max);
        break;
    case S6_CT_OPTNUM:
        snprintf(out, n, "number in %s%.15g, %.15g] or null", lo, k->min,
                 k->max);
        break;
    case S6_CT_ENUM: {
        snprintf(out, n, "one of %s", k->arg);
        for (char *p = out; *p; p++)
            if (*p == '|')
                *p = '/';
        break;
    }
    case S6_CT_URL:
        snprintf(out, n, "URL (%s)", k->arg);
        for (char *p = out; *p; p++)
            if (*p == '|')
                *p = ',';
        break;
    default:
        snprintf(out, n, "%s", s6_cfg_type_name(k->type));
    }
}

static void key_row(const s6_cfg_key *k, char *out, size_t n)
{
    char type[128], def[256];
    type_text(k, type, sizeof type);
    snprintf(def, sizeof def, k->def ? "`%s`" : "required", k->def);
    snprintf(out, n, "| `%s` | %s | %s | %s | %s | %s |", k->path, type, def,
             k->unit, (k->flags & S6_CK_RESTART) ? "restart" : "hot", k->doc);
}

static char *read_doc(void)
{
    char path[4096];
    const char *root = getenv("S6_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/docs/configuration.md", root ? root : ".");
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    static char buf[1 << 18];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static void every_key_is_documented(void **state)
{
    (void)state;
    const char *doc = read_doc();
    char row[1024];
    for (size_t i = 0; i < s6_config_nkeys; i++) {
        key_row(&s6_config_keys[i], row, sizeof row);
        if (strstr(doc, row) == NULL)
            fail_msg("docs/configuration.md lacks or differs on:\n%s", row);
    }
    for (size_t i = 0; i < s6_config_nenvs; i++) {
        snprintf(row, sizeof row, "| `%s` | `%s` |", s6_config_envs[i].var,
                 s6_config_envs[i].path);
        if (strstr(doc, row) == NULL)
            fail_msg("docs/configuration.md lacks the override %s", row);
    }
}

/* A row whose first cell is a dotted name must be a key of the table. */
static void no_documented_key_is_unknown(void **state)
{
    (void)state;
    const char *doc = read_doc();
    for (const char *p = strstr(doc, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
        const char *name = p + 4, *end = strchr(name, '`');
        assert_non_null(end);
        size_t n = (size_t)(end - name);
        if (memchr(name, '.', n) == NULL || memchr(name, ' ', n) != NULL)
            continue; /* an environment variable, or a formula */
        size_t i = 0;
        while (i < s6_config_nkeys &&
               (strlen(s6_config_keys[i].path) != (size_t)(end - name) ||
                strncmp(s6_config_keys[i].path, name, (size_t)(end - name))))
            i++;
        if (i == s6_config_nkeys)
            fail_msg("docs list %.*s, which is no key", (int)(end - name),
                     name);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--print") == 0) {
        char row[1024];
        for (size_t i = 0; i < s6_config_nkeys; i++) {
            key_row(&s6_config_keys[i], row, sizeof row);
            puts(row);
        }
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key_is_documented),
        cmocka_unit_test(no_documented_key_is_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
