/* JUnit XML for CI systems: one test case per scenario. */
#ifndef MG_JUNIT_H
#define MG_JUNIT_H

#include <stddef.h>

#include "buf.h"

typedef struct mg_junit {
    mg_buf cases;
    unsigned tests, failures, skipped;
    double seconds;
} mg_junit;

/* Adds a case; failure NULL means it passed. Output (the transcript) goes
 * into system-out. */
void mg_junit_add(mg_junit *j, const char *classname, const char *name, double seconds, const char *failure,
                  const char *output);
/* Adds a case that did not run, with why. */
void mg_junit_add_skipped(mg_junit *j, const char *classname, const char *name, const char *why);
/* Writes the document; returns 0 or -1. */
int mg_junit_write(const mg_junit *j, const char *path);
void mg_junit_free(mg_junit *j);
/* Appends s with XML escaping (and without characters XML 1.0 forbids). */
void mg_xml_escape(mg_buf *out, const char *s);

#endif
