/* html — the pieces of a self-contained HTML report: escaping, base64
 * data URIs, and the page frame with its self-check.
 *
 * The page's Content-Security-Policy allows nothing but inline styles,
 * the inline script and data: images, so a report that reached for any
 * outside resource shows it as an error instead of silently depending on
 * the network. The inline script runs on load and writes onto <body>:
 *   data-check="done"
 *   data-images-total="N"   every <img>
 *   data-images-ok="K"      those complete with naturalWidth > 0
 *   data-errors="..."       script errors, failed resources, CSP
 *                           violations, console.error calls ("" if none)
 * so `chromium --headless --dump-dom report.html` shows whether the page
 * rendered every plot without error.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_HTML_H
#define GGPERF_REPORTS_HTML_H

#include <stddef.h>
#include <stdio.h>

/* s with & < > " ' escaped, to f. */
void html_escape(FILE *f, const char *s);

/* "data:MIME;base64,..." of data[0..n), to f. */
void html_data_uri(FILE *f, const char *mime, const unsigned char *data, size_t n);

/* <!DOCTYPE html> ... <body>, with the style sheet and the self-check. */
void html_begin(FILE *f, const char *title);

/* </body></html>. */
void html_end(FILE *f);

#endif
