/*
 * store_int.h - what the store_*.c files share: the handle and statement
 * helpers. Only store files include this (and so sqlite3.h).
 */
#ifndef IV_STORE_INT_H
#define IV_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store.h"

/* Prepared statements kept for reuse, keyed by their SQL text's address
 * (every statement is a string literal of the store files). */
#define STORE_STMT_CACHE 96

struct store_cached {
	const char *sql;
	sqlite3_stmt *st;
	bool in_use;
};

struct store {
	sqlite3 *db;
	char path[1024];
	char errbuf[512];
	char tx_failure[512];   /* why the last transaction was rolled back
	                           ("" none since the last commit) */
	struct store_cached cache[STORE_STMT_CACHE];
	int tx_depth;           /* open store_tx_begin()s: 1 = the transaction */
};

/* A prepared statement for sql (a string literal): reused from the cache
 * when one is free, else prepared. Give it back with store_release, never
 * sqlite3_finalize. Returns NULL and logs at debug on error. */
sqlite3_stmt *store_prepare(struct store *s, const char *sql);
/* Resets a statement back into the cache (or finalizes an uncached one). */
void store_release(struct store *s, sqlite3_stmt *st);
/* Maps an SQLite result code to a negative errno. */
int store_errno(int rc);
/* Runs a prepared statement that returns no rows, finalizes it. */
int store_exec_stmt(struct store *s, sqlite3_stmt *st);
/* Column text as an allocated string ("" for NULL). */
char *store_col_str(sqlite3_stmt *st, int col);
/* Runs a prepared UPDATE/DELETE, finalizes it; returns the number of rows
 * changed or a negative errno. */
int store_exec_changes(struct store *s, sqlite3_stmt *st);
/* The time a query of one value (a MIN(...)) returns: 0 and *ret, -ENOENT
 * when it is NULL, or the store's error. */
int store_query_time(struct store *s, const char *sql, time_t *ret);
/* Steps st, turning each row into an element with read(); finalizes st.
 * On error frees what was read with free_one. */
int store_collect(struct store *s, sqlite3_stmt *st,
    void *(*read)(sqlite3_stmt *), void (*free_one)(void *), void ***ret,
    size_t *ret_n);

/* Binds text, NULL for a NULL pointer. */
int store_bind_str(sqlite3_stmt *st, int idx, const char *v);

#endif
