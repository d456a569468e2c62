#include "junit.h"

#include <stdio.h>
#include <string.h>

void mg_xml_escape(mg_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': mg_buf_append_str(out, "&amp;"); break;
        case '<': mg_buf_append_str(out, "&lt;"); break;
        case '>': mg_buf_append_str(out, "&gt;"); break;
        case '"': mg_buf_append_str(out, "&quot;"); break;
        case '\'': mg_buf_append_str(out, "&apos;"); break;
        default:
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
                mg_buf_append_str(out, "?");
            else
                mg_buf_append(out, s, 1);
        }
    }
}

static void open_case(mg_junit *j, const char *classname, const char *name, double seconds)
{
    j->tests++;
    j->seconds += seconds;
    mg_buf_append_str(&j->cases, "    <testcase classname=\"");
    mg_xml_escape(&j->cases, classname);
    mg_buf_append_str(&j->cases, "\" name=\"");
    mg_xml_escape(&j->cases, name);
    mg_buf_printf(&j->cases, "\" time=\"%.3f\">\n", seconds);
}

void mg_junit_add_skipped(mg_junit *j, const char *classname, const char *name, const char *why)
{
    open_case(j, classname, name, 0);
    j->skipped++;
    mg_buf_append_str(&j->cases, "      <skipped message=\"");
    mg_xml_escape(&j->cases, why);
    mg_buf_append_str(&j->cases, "\"/>\n    </testcase>\n");
}

void mg_junit_add(mg_junit *j, const char *classname, const char *name, double seconds, const char *failure,
                  const char *output)
{
    open_case(j, classname, name, seconds);
    if (failure) {
        j->failures++;
        mg_buf_append_str(&j->cases, "      <failure message=\"");
        mg_xml_escape(&j->cases, failure);
        mg_buf_append_str(&j->cases, "\" type=\"mismatch\">");
        mg_xml_escape(&j->cases, failure);
        mg_buf_append_str(&j->cases, "</failure>\n");
    }
    if (output && *output) {
        mg_buf_append_str(&j->cases, "      <system-out>");
        mg_xml_escape(&j->cases, output);
        mg_buf_append_str(&j->cases, "</system-out>\n");
    }
    mg_buf_append_str(&j->cases, "    </testcase>\n");
}

int mg_junit_write(const mg_junit *j, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites tests=\"%u\" failures=\"%u\" skipped=\"%u\" time=\"%.3f\">\n", j->tests, j->failures,
            j->skipped, j->seconds);
    fprintf(f, "  <testsuite name=\"mockgateway\" tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\" "
            "time=\"%.3f\">\n", j->tests, j->failures, j->skipped, j->seconds);
    if (j->cases.len)
        fwrite(j->cases.data, 1, j->cases.len, f);
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    return fclose(f) == 0 ? 0 : -1;
}

void mg_junit_free(mg_junit *j) { mg_buf_free(&j->cases); }
