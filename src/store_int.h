/*
 * store_int.h - what the store_*.c files share: the handle and statement
 * helpers. Only store files include this (and so sqlite3.h).
 */
#ifndef IV_STORE_INT_H
#define IV_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
	char path[1024];
	char errbuf[512];
};

/* Prepares sql (cached by SQLite's own statement cache is not available,
 * so statements are prepared per call; they are cheap). Returns NULL and
 * logs at debug on error. */
sqlite3_stmt *store_prepare(struct store *s, const char *sql);
/* Maps an SQLite result code to a negative errno. */
int store_errno(int rc);
/* Runs a prepared statement that returns no rows, finalizes it. */
int store_exec_stmt(struct store *s, sqlite3_stmt *st);
/* Column text as an allocated string ("" for NULL). */
char *store_col_str(sqlite3_stmt *st, int col);
/* Runs a prepared UPDATE/DELETE, finalizes it; returns the number of rows
 * changed or a negative errno. */
int store_exec_changes(struct store *s, sqlite3_stmt *st);
/* Steps st, turning each row into an element with read(); finalizes st.
 * On error frees what was read with free_one. */
int store_collect(struct store *s, sqlite3_stmt *st,
    void *(*read)(sqlite3_stmt *), void (*free_one)(void *), void ***ret,
    size_t *ret_n);

/* Binds text, NULL for a NULL pointer. */
int store_bind_str(sqlite3_stmt *st, int idx, const char *v);

#endif
