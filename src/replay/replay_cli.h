/*
 * replay_cli.h — `s6-position replay PRICES... --positions FILE [--rules
 * DIR] [--native] [--report FILE.html] [--config FILE] [--quiet]`
 * (docs/replay.md).  Exit 0 on success, 1 when an input is bad or the
 * replay fails (the message names the file, the line and why), 2 on usage
 * errors.
 */
#pragma once

int s6_replay_main(int argc, char **argv);
