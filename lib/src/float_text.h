/* float_text.h - doubles to and from decimal text, exactly, with integer
 * arithmetic only.
 *
 * The ETF codec needs both directions: a NEW_FLOAT_EXT becomes JSON text
 * that must read back as the same double, and a JSON number with a
 * fraction or exponent becomes a NEW_FLOAT_EXT that must be the double any
 * correct reader (strtod, Erlang, JavaScript) gets from that text. printf
 * is not available in lib/ (no stdio), and strtod reads the decimal point
 * from the process's locale, so neither is used. */
#ifndef DGW_FLOAT_TEXT_H
#define DGW_FLOAT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Room dgw_dtoa needs (its longest output is 24 bytes). */
#define DGW_DTOA_MAX 32

/* Writes the shortest decimal that reads back as d (Burger and Dybvig's
 * free-format algorithm; of two shortest candidates, the nearer). The text
 * is a JSON number that always has a '.' or an exponent, so that it reads
 * as a float again: 1.0, 0.1, -2.5e-7, 1e+21, -0.0. Plain notation for
 * 1e-7 < |d| < 1e21, like JavaScript. d must be finite; returns the length
 * (no NUL is written). */
size_t dgw_dtoa(double d, char *out);

/* Reads one number in JSON's grammar (-?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?, nothing else, no white space) as the nearest double,
 * ties to even, however many digits it has. Values too small for a double
 * become +-0.0. Returns false when the text is not in that grammar or the
 * value rounds past the largest double. */
bool dgw_decimal_to_double(const char *p, size_t n, double *out);

#endif
