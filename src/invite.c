/* invite.c - placeholder, filled in by its module work. */
#include "autoconf.h"
#include "invite.h"
