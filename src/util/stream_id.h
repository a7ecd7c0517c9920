/*
 * stream_id.h — Redis stream entry ids ("<ms>-<seq>") compared as the
 * numbers they are: "10-0" comes after "9-5", which text order gets wrong.
 */
#pragma once

/* < 0, 0, > 0 as a is before, equal to or after b.  "" (or NULL) is
 * before every id; a bare "<ms>" is "<ms>-0"; anything that does not
 * parse counts as "". */
int s6_stream_id_cmp(const char *a, const char *b);
