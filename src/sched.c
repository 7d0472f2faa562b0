/* sched.c - placeholder, filled in by its module work. */
#include "autoconf.h"
#include "sched.h"
