/* `mockgateway run --html FILE`: one self-contained page (inline CSS and
 * JS, no network) with the run's summary, the scenarios grouped by folder,
 * and each scenario's transcript as a timeline. The page is
 * report_page.html (shared with conformance/tools/matrix.mjs, which fills
 * it with a whole matrix) with the run's data as JSON in place of
 * @REPORT_DATA@; the data's shape is described at the top of that file. */
#ifndef MG_REPORT_HTML_H
#define MG_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "run_results.h"

typedef struct mg_report_run {
    const char *client;  /* a short name of the client command, secrets redacted */
    const char *command; /* the whole client command, one line, secrets redacted */
    double seconds;     /* the whole run */
    unsigned jobs;
    int interrupted;
} mg_report_run;

/* Writes the page. Returns 0, or -1 with a message in err. */
int mg_report_html_write(const char *path, const mg_report_run *run, const mg_results *col, char *err,
                         size_t errlen);

/* Writes s as a JSON string, safe inside an HTML <script> element: '<',
 * '>' and '&' are escaped too, and bytes that are not UTF-8 become U+FFFD.
 * At most max_line bytes of each line are kept (0: no limit); a cut line
 * ends with a note of how much was cut. */
void mg_json_html_string(FILE *out, const char *s, size_t max_line);

#endif
