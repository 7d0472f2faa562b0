/* ctl_meeting.c - placeholder. */
#include "autoconf.h"
#include "ctl.h"
