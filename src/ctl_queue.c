/* ctl_queue.c - placeholder. */
#include "autoconf.h"
#include "ctl.h"
