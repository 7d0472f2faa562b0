/* ivprobe.c - placeholder driver for the transport tests. */
#include "autoconf.h"

int main(void) { return 0; }
