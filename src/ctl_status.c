/* ctl_status.c - the status command and the daemon wake-up. */
#include "autoconf.h"

#include <stdio.h>

#include "ctl.h"

int ctl_status(struct ctl *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "infoviewctl: status: not available yet\n"); return EXIT_FAILED; }
void ctl_wake(struct ctl *c) { (void)c; }
