/* ctl_meeting.c - meeting commands. */
#include "autoconf.h"

#include <stdio.h>

#include "ctl.h"

int ctl_meeting(struct ctl *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "infoviewctl: meeting: not available yet\n"); return EXIT_FAILED; }
