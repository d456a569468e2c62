/* state_dot - prints docs/state-machine.dot from the transition table in
 * lib/src/conn.c, so the diagram is the code's, not a drawing of it.
 *   state_dot              prints the diagram
 *   state_dot --check F    exit 1 (with a hint) when F differs from it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

static void emit(FILE *f)
{
    size_t n;
    const dgw_edge *e = dgw_transitions(&n);
    fputs("// libdgw's connection state machine: generated from the transition\n"
          "// table in lib/src/conn.c by tests/state_dot.c (ninja -C build\n"
          "// state-diagram); the unit test 'state_diagram' keeps them equal.\n"
          "// Render: dot -Tsvg -o state-machine.svg state-machine.dot\n"
          "digraph dgw {\n"
          "  rankdir=TB;\n"
          "  node [shape=box, style=\"rounded\", fontname=\"Helvetica\", fontsize=11];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9];\n\n",
          f);
    for (int s = DGW_STATE_IDLE; s <= DGW_STATE_CLOSED; s++) {
        const char *t = dgw_state_timers((dgw_state)s);
        fprintf(f, "  %s [label=\"%s%s%s\"%s];\n", dgw_state_name((dgw_state)s),
                dgw_state_name((dgw_state)s), t ? "\\ntimers: " : "", t ? t : "",
                s == DGW_STATE_CLOSED ? ", style=\"rounded,bold\"" : "");
    }
    fputc('\n', f);
    /* One arrow per (from, to) pair, labelled with every input taking it,
     * in table order. */
    for (int from = DGW_STATE_IDLE; from <= DGW_STATE_CLOSED; from++) {
        for (int to = DGW_STATE_IDLE; to <= DGW_STATE_CLOSED; to++) {
            int k = 0;
            for (size_t i = 0; i < n; i++) {
                if (!(e[i].from & (1u << from)))
                    continue;
                int dest = e[i].to == DGW_SAME ? from : e[i].to;
                if (dest != to)
                    continue;
                if (k++ == 0)
                    fprintf(f, "  %s -> %s [label=\"", dgw_state_name((dgw_state)from),
                            dgw_state_name((dgw_state)to));
                else
                    fputs("\\n", f);
                fputs(dgw_input_name(e[i].in), f);
            }
            if (k)
                fputs("\"];\n", f);
        }
    }
    fputs("}\n", f);
}

int main(int argc, char **argv)
{
    if (argc == 1) {
        emit(stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "--check") != 0) {
        fprintf(stderr, "usage: state_dot [--check FILE]\n");
        return 2;
    }
    char *want = NULL;
    size_t wn = 0;
    FILE *m = open_memstream(&want, &wn);
    emit(m);
    fclose(m);
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        free(want);
        return 2;
    }
    char *have = malloc(wn + 2);
    size_t hn = fread(have, 1, wn + 1, f);
    fclose(f);
    int same = hn == wn && memcmp(have, want, wn) == 0;
    if (!same)
        fprintf(stderr, "%s is not the diagram of lib/src/conn.c's table: "
                        "run 'ninja -C build state-diagram' and commit it\n",
                argv[2]);
    else
        printf("OK: %s matches the transition table\n", argv[2]);
    free(have);
    free(want);
    return same ? 0 : 1;
}
