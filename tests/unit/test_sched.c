/* test_sched.c - placeholder until the sched module lands. */
#include "autoconf.h"

#include "unit.h"

static void
test_pending(void **state)
{
	(void)state;
	skip();
}

int
main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_pending) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
