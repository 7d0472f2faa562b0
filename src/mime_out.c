/* mime_out.c - placeholder, filled in by its module work. */
#include "autoconf.h"
#include "mime.h"
