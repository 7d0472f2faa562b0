/*
 * sched.h - the coordinator: decides what is due and owns the state
 * machines (contact lifecycle, outbox journal, meetings). See the diagram
 * at the top of sched.c.
 */
#ifndef IV_SCHED_H
#define IV_SCHED_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "store.h"

struct sched;

#endif
