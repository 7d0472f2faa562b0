/*
 * store_outbox.c - the outbox journal: queued -> sending -> sent | failed,
 * each change committed before and after the SMTP transaction.
 */
#include "autoconf.h"

#include <errno.h>

#include "store_int.h"
#include "util.h"

int
store_outbox_cancel_contact(struct store *s, int64_t contact_id, const char *why)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE outbox SET state = 'cancelled', last_error = ?2 "
	    "WHERE contact_id = ?1 AND state IN ('queued', 'held')");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	store_bind_str(st, 2, why);
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	return sqlite3_changes(s->db);
}
