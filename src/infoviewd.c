/* infoviewd.c - the daemon's main. */
#include "autoconf.h"

#include <stdio.h>

int
main(int argc, char **argv)
{
	(void)argc; (void)argv;
	puts("infoviewd");
	return 0;
}
