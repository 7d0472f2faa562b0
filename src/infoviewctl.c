/* infoviewctl.c - the control CLI's main. */
#include "autoconf.h"

#include <stdio.h>

int
main(int argc, char **argv)
{
	(void)argc; (void)argv;
	puts("infoviewctl");
	return 0;
}
