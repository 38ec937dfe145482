/* fmt — number formatting for people (see fmt.h). */
#include "results/fmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct fmt_scale fmt_scale_for(const char *unit, double max_abs)
{
    double a = fabs(max_abs);
    if (strcmp(unit, "ns") == 0) {
        if (a >= 1e9)
            return (struct fmt_scale){ "s", 1e9 };
        if (a >= 1e6)
            return (struct fmt_scale){ "ms", 1e6 };
        if (a >= 1e3)
            return (struct fmt_scale){ "µs", 1e3 };
        return (struct fmt_scale){ "ns", 1 };
    }
    if (strcmp(unit, "bytes") == 0) {
        if (a >= 1073741824.0)
            return (struct fmt_scale){ "GiB", 1073741824.0 };
        if (a >= 1048576.0)
            return (struct fmt_scale){ "MiB", 1048576.0 };
        if (a >= 1024.0)
            return (struct fmt_scale){ "KiB", 1024.0 };
        return (struct fmt_scale){ "B", 1 };
    }
    if (strcmp(unit, "count") == 0) {
        if (a >= 1e10)
            return (struct fmt_scale){ "billions", 1e9 };
        if (a >= 1e7)
            return (struct fmt_scale){ "millions", 1e6 };
    }
    return (struct fmt_scale){ unit, 1 };
}

int fmt_decimals(double v, int sig)
{
    double a = fabs(v);
    if (a == 0 || !isfinite(a))
        return 0;
    int d = sig - 1 - (int)floor(log10(a));
    return d < 0 ? 0 : d > 9 ? 9 : d;
}

void fmt_sig(char *buf, size_t len, double v, int sig)
{
    if (!isfinite(v)) {
        snprintf(buf, len, "%s", isnan(v) ? "—" : v > 0 ? "∞" : "−∞");
        return;
    }
    int d = fmt_decimals(v, sig);
    /* rounding may carry into a new digit (9.996 -> 10.0, not 10.00) */
    double p = pow(10, d), r = round(v * p) / p;
    if (r != 0)
        d = fmt_decimals(r, sig);
    snprintf(buf, len, "%.*f", d, v);
}

void fmt_grouped(char *buf, size_t len, double v)
{
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t n = strlen(digits), k = 0;
    if (len == 0)
        return;
    if (v < 0 && digits[0] != '0' && k + 1 < len)
        buf[k++] = '-';
    for (size_t i = 0; i < n && k + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
}

void fmt_bytes(char *buf, size_t len, double bytes)
{
    struct fmt_scale s = fmt_scale_for("bytes", bytes);
    double v = bytes / s.div;
    if (v == floor(v))
        snprintf(buf, len, "%.0f %s", v, s.unit);
    else
        snprintf(buf, len, "%.*f %s", fmt_decimals(v, 3), v, s.unit);
}

void fmt_value(char *buf, size_t len, double v, const char *unit)
{
    if (isnan(v)) {
        snprintf(buf, len, "—");
        return;
    }
    if (!unit)
        unit = "";
    if (strcmp(unit, "bytes") == 0) {
        fmt_bytes(buf, len, v);
        return;
    }
    bool plain = !unit[0] || strcmp(unit, "count") == 0;
    if (strcmp(unit, "ns") == 0) {
        struct fmt_scale s = fmt_scale_for(unit, v);
        char num[48];
        fmt_sig(num, sizeof num, v / s.div, 3);
        snprintf(buf, len, "%s %s", num, s.unit);
        return;
    }
    char num[48];
    if (v == floor(v) && fabs(v) < 1e15)
        fmt_grouped(num, sizeof num, v);
    else
        fmt_sig(num, sizeof num, v, 3);
    if (plain)
        snprintf(buf, len, "%s", num);
    else
        snprintf(buf, len, "%s %s", num, unit);
}

void fmt_estimate(char *buf, size_t len, double v, double spread)
{
    if (!isfinite(v)) {
        fmt_sig(buf, len, v, 3);
        return;
    }
    spread = fabs(spread);
    if (!isfinite(spread) || spread == 0) {
        /* an exact figure (a count, a size): no invented decimals */
        if (v == floor(v) && fabs(v) < 1e15)
            snprintf(buf, len, "%.0f", v);
        else
            fmt_sig(buf, len, v, 3);
        return;
    }
    /* the spread's leading digit sets the last decimal shown; two digits
     * when it leads with a 1 and more follows (0.12 rather than 0.1) */
    int lead = (int)floor(log10(spread));
    double first = spread / pow(10, lead);
    int second = (int)fmod(round(first * 10), 10);
    int place = lead - (first < 2 && second != 0 ? 1 : 0);   /* 10^place is the last digit shown */
    /* at most six significant digits of the figure */
    int vlead = v != 0 ? (int)floor(log10(fabs(v))) : lead;
    if (vlead - place > 5)
        place = vlead - 5;
    int d = place < 0 ? -place : 0;
    if (d > 9)
        d = 9;
    if (place > 0) {
        /* round both to 10^place; printed without decimals */
        double q = pow(10, place);
        snprintf(buf, len, "%.0f ± %.0f", round(v / q) * q, fmax(round(spread / q), 1) * q);
        return;
    }
    if (spread < 0.5 * pow(10, -d))
        /* the six digits shown do not reach the spread: say it is smaller */
        snprintf(buf, len, "%.*f ± <%.*f", d, v, d, pow(10, -d));
    else
        snprintf(buf, len, "%.*f ± %.*f", d, v, d, spread);
}

void fmt_ratio(char *buf, size_t len, double q)
{
    double a = fabs(q);
    if (!isfinite(q))
        snprintf(buf, len, "—");
    else if (a >= 100)
        snprintf(buf, len, "%.0f×", q);
    else if (a >= 10)
        snprintf(buf, len, "%.1f×", q);
    else if (a >= 0.1)
        snprintf(buf, len, "%.2f×", q);
    else
        snprintf(buf, len, "%.2g×", q);
}

void fmt_p(char *buf, size_t len, double p)
{
    if (!isfinite(p))
        snprintf(buf, len, "p = —");
    else if (p < 0.001)
        snprintf(buf, len, "p < 0.001");
    else if (p < 0.01)
        snprintf(buf, len, "p = %.3f", p);
    else
        snprintf(buf, len, "p = %.2f", p);
}
