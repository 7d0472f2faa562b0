/* store_inbox.c - placeholder, filled in by its module work. */
#include "autoconf.h"
#include "store.h"
