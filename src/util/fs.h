/*
 * fs.h — small file-system helpers libuv does not offer.
 */
#pragma once

/* Makes the folders above the file at path (`mkdir -p` of its dirname),
 * mode 0755.  0, or -errno of the first folder that could not be made
 * (one that exists already is fine). */
int s6_fs_make_parents(const char *path);
