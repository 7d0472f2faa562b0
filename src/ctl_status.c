/* ctl_status.c - placeholder. */
#include "autoconf.h"
#include "ctl.h"
