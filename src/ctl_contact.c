/* ctl_contact.c - placeholder. */
#include "autoconf.h"
#include "ctl.h"
