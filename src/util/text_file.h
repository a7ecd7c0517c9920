/*
 * text_file.h — reading a whole text file for the paper and replay input
 * files (start positions, prices), with the message they all give.
 */
#pragma once

#include <stddef.h>

/* *text: malloc'd, NUL-terminated.  Refuses files holding NUL bytes.
 * err: "<path>: <reason>". */
int s6_read_text_file(const char *path, char **text, char *err,
                      size_t errlen);
/* The file name without its folders, for messages. */
const char *s6_base_name(const char *path);
