#include "rules_edge.h"

#include <errno.h>
#include <string.h>

int s6_rules_edge_lua(struct s6_rules_svc *svc, int nslots,
                      s6_rules_edge *out, char *err, size_t errlen)
{
    (void)svc; (void)nslots; (void)err; (void)errlen;
    memset(out, 0, sizeof *out);
    return -ENOSYS;
}
int s6_rules_edge_native(const struct s6_native_rules *nr, int nslots,
                         s6_rules_edge *out, char *err, size_t errlen)
{
    (void)nr; (void)nslots; (void)err; (void)errlen;
    memset(out, 0, sizeof *out);
    return -ENOSYS;
}
void s6_rules_edge_free(s6_rules_edge *edge) { (void)edge; }
