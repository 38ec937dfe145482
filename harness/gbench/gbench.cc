// gbench — the C interface of harness/gbench/gbench.h over Google Benchmark 1.7.1.
//
// The project's only C++ file. Handles are the library's own objects cast to
// opaque C types (no allocation per call). No C++ exception crosses into C:
// every function that may allocate catches and returns GBENCH_ENOMEM, and
// arguments the library would BM_CHECK (and abort on) are validated first.
#include "harness/gbench/gbench.h"

#include <benchmark/benchmark.h>

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <sstream>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace {

benchmark::internal::Benchmark *B(struct gbench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}

benchmark::State *S(struct gbench_state *st)
{
    return reinterpret_cast<benchmark::State *>(st);
}

const benchmark::State *S(const struct gbench_state *st)
{
    return reinterpret_cast<const benchmark::State *>(st);
}

} // namespace

extern "C" {

struct gbench *gbench_register(const char *name, gbench_fn fn, void *arg)
{
    if (!name || !*name || !fn)
        return nullptr;
    try {
        auto *b = benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &st) {
            fn(reinterpret_cast<struct gbench_state *>(&st), arg);
        });
        return reinterpret_cast<struct gbench *>(b);
    } catch (...) {
        return nullptr;
    }
}

int gbench_args(struct gbench *b, const int64_t *args, int n)
{
    if (!b || !args || n < 1 || n > 16)
        return GBENCH_EINVAL;
    try {
        B(b)->Args(std::vector<int64_t>(args, args + n));
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

int gbench_range(struct gbench *b, int64_t lo, int64_t hi)
{
    if (!b || lo < 0 || lo > hi)
        return GBENCH_EINVAL;
    try {
        B(b)->Range(lo, hi);
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

int gbench_dense_range(struct gbench *b, int64_t lo, int64_t hi, int step)
{
    if (!b || lo > hi || step < 1)
        return GBENCH_EINVAL;
    try {
        B(b)->DenseRange(lo, hi, step);
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

int gbench_range_multiplier(struct gbench *b, int mult)
{
    if (!b || mult < 2)
        return GBENCH_EINVAL;
    B(b)->RangeMultiplier(mult);
    return 0;
}

int gbench_arg_names(struct gbench *b, const char *const *names, int n)
{
    if (!b || !names || n < 1 || n > 16)
        return GBENCH_EINVAL;
    try {
        std::vector<std::string> v;
        for (int i = 0; i < n; i++) {
            if (!names[i])
                return GBENCH_EINVAL;
            v.emplace_back(names[i]);
        }
        B(b)->ArgNames(v);
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

int gbench_threads(struct gbench *b, int n)
{
    if (!b || n < 1)
        return GBENCH_EINVAL;
    try {
        B(b)->Threads(n);
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

int gbench_thread_range(struct gbench *b, int lo, int hi)
{
    if (!b || lo < 1 || lo > hi)
        return GBENCH_EINVAL;
    try {
        B(b)->ThreadRange(lo, hi);
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

int gbench_min_time(struct gbench *b, double seconds)
{
    if (!b || !(seconds > 0))
        return GBENCH_EINVAL;
    B(b)->MinTime(seconds);
    return 0;
}

int gbench_repetitions(struct gbench *b, int n)
{
    if (!b || n < 1)
        return GBENCH_EINVAL;
    B(b)->Repetitions(n);
    return 0;
}

int gbench_fixed_iterations(struct gbench *b, int64_t n)
{
    if (!b || n < 1)
        return GBENCH_EINVAL;
    B(b)->Iterations(n);
    return 0;
}

int gbench_unit(struct gbench *b, enum gbench_unit u)
{
    static const benchmark::TimeUnit units[] = { benchmark::kNanosecond, benchmark::kMicrosecond,
                                                 benchmark::kMillisecond, benchmark::kSecond };
    if (!b || (unsigned)u >= sizeof units / sizeof units[0])
        return GBENCH_EINVAL;
    B(b)->Unit(units[u]);
    return 0;
}

int gbench_use_real_time(struct gbench *b)
{
    if (!b)
        return GBENCH_EINVAL;
    B(b)->UseRealTime();
    return 0;
}

int gbench_measure_process_cpu_time(struct gbench *b)
{
    if (!b)
        return GBENCH_EINVAL;
    B(b)->MeasureProcessCPUTime();
    return 0;
}

int gbench_add_context(const char *key, const char *value)
{
    if (!key || !*key || !value)
        return GBENCH_EINVAL;
    try {
        // AddCustomContext prints to stderr on a duplicate key; check first so
        // the caller gets a code instead.
        std::map<std::string, std::string> *ctx = benchmark::internal::GetGlobalContext();
        if (ctx && ctx->count(key))
            return GBENCH_EEXIST;
        benchmark::AddCustomContext(key, value);
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

namespace {

// The library's own build type: its JSON reporter writes it into the
// context ("library_build_type"), from how the library itself was compiled.
std::string library_build_type()
{
    std::ostringstream out, err;
    benchmark::JSONReporter rep;
    rep.SetOutputStream(&out);
    rep.SetErrorStream(&err);
    rep.ReportContext(benchmark::BenchmarkReporter::Context());
    const std::string s = out.str(), key = "\"library_build_type\": \"";
    size_t at = s.find(key);
    if (at == std::string::npos)
        return "";
    at += key.size();
    size_t end = s.find('"', at);
    return end == std::string::npos ? "" : s.substr(at, end - at);
}

struct needed_scan {
    const char *lib; // the library's file as the loader names it
    bool found, pfm;
};

// Does the loaded object named scan->lib list libpfm among its DT_NEEDED?
int scan_needed(struct dl_phdr_info *info, size_t, void *arg)
{
    auto *scan = static_cast<needed_scan *>(arg);
    if (!info->dlpi_name || strcmp(info->dlpi_name, scan->lib) != 0)
        return 0;
    scan->found = true;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
            continue;
        auto *dyn = reinterpret_cast<const ElfW(Dyn) *>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        const char *strtab = nullptr;
        for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
            if (d->d_tag == DT_STRTAB) {
                // glibc relocates DT_STRTAB in place; other loaders may not
                ElfW(Addr) p = d->d_un.d_ptr;
                strtab = reinterpret_cast<const char *>(p < info->dlpi_addr ? p + info->dlpi_addr : p);
            }
        for (const ElfW(Dyn) *d = dyn; strtab && d->d_tag != DT_NULL; d++)
            if (d->d_tag == DT_NEEDED && strstr(strtab + d->d_un.d_val, "libpfm"))
                scan->pfm = true;
    }
    return 1;
}

} // namespace

int gbench_library_describe(char *buf, size_t len)
{
    if (!buf || len == 0)
        return GBENCH_EINVAL;
    try {
        std::string build = library_build_type();
        // Which file the library was loaded from: its real name carries the version.
        Dl_info di;
        char real[PATH_MAX] = "";
        const char *version = nullptr;
        needed_scan scan = { nullptr, false, false };
        if (dladdr(reinterpret_cast<void *>(&benchmark::Shutdown), &di) && di.dli_fname) {
            scan.lib = di.dli_fname;
            dl_iterate_phdr(scan_needed, &scan);
            if (realpath(di.dli_fname, real)) {
                const char *base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
                const char *so = strstr(base, ".so.");
                if (strncmp(base, "libbenchmark", 12) == 0 && so && so[4] >= '0' && so[4] <= '9')
                    version = so + 4;
            }
        }
        std::string note = "libbenchmark ";
        if (!scan.found)
            note += "(linked statically: version and libpfm unknown)";
        else
            note += std::string(version ? version : "(version unknown)") + " (" + real + ")";
        note += ", library built as " + (build.empty() ? std::string("(unknown)") : build);
        if (build == "debug")
            note += " (timings of the library's own overhead are inflated)";
        if (scan.found)
            note += scan.pfm ? ", with libpfm (the library's perf counters are available)"
                             : ", no libpfm (perf counters unavailable; ggperf's own counters attached as user "
                               "counters instead)";
        snprintf(buf, len, "%s", note.c_str());
        return 0;
    } catch (...) {
        return GBENCH_ENOMEM;
    }
}

int gbench_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    size_t n = benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return n > 0 ? 0 : 1;
}

bool gbench_keep_running(struct gbench_state *st)
{
    return S(st)->KeepRunning();
}

bool gbench_keep_running_batch(struct gbench_state *st, int64_t n)
{
    return S(st)->KeepRunningBatch(n < 1 ? 1 : n);
}

int64_t gbench_max_iterations(const struct gbench_state *st)
{
    return S(st)->max_iterations;
}

int64_t gbench_iterations(const struct gbench_state *st)
{
    return S(st)->iterations();
}

int64_t gbench_arg(const struct gbench_state *st, int i)
{
    return S(st)->range(i < 0 ? 0 : (size_t)i);
}

int gbench_thread_index(const struct gbench_state *st)
{
    return S(st)->thread_index();
}

int gbench_thread_count(const struct gbench_state *st)
{
    return S(st)->threads();
}

void gbench_pause_timing(struct gbench_state *st)
{
    if (!S(st)->error_occurred())
        S(st)->PauseTiming();
}

void gbench_resume_timing(struct gbench_state *st)
{
    if (!S(st)->error_occurred())
        S(st)->ResumeTiming();
}

void gbench_set_bytes_processed(struct gbench_state *st, int64_t bytes)
{
    try {
        S(st)->SetBytesProcessed(bytes);
    } catch (...) {
    }
}

void gbench_set_items_processed(struct gbench_state *st, int64_t items)
{
    try {
        S(st)->SetItemsProcessed(items);
    } catch (...) {
    }
}

int gbench_counter(struct gbench_state *st, const char *name, double value, unsigned flags)
{
    const unsigned known = GBENCH_COUNTER_RATE | GBENCH_COUNTER_AVG_THREADS |
                           GBENCH_COUNTER_ITER_INVARIANT | GBENCH_COUNTER_AVG_ITERATIONS |
                           GBENCH_COUNTER_1024 | GBENCH_COUNTER_INVERT;
    if (!name || !*name || (flags & ~known))
        return GBENCH_EINVAL;
    unsigned f = flags & ~(unsigned)GBENCH_COUNTER_1024;
    benchmark::Counter::OneK k =
        (flags & GBENCH_COUNTER_1024) ? benchmark::Counter::kIs1024 : benchmark::Counter::kIs1000;
    try {
        S(st)->counters[name] = benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f), k);
    } catch (...) {
        return GBENCH_ENOMEM;
    }
    return 0;
}

void gbench_skip_with_error(struct gbench_state *st, const char *msg)
{
    if (S(st)->error_occurred())
        return;
    try {
        S(st)->SkipWithError(msg ? msg : "");
    } catch (...) {
    }
}

bool gbench_error_occurred(const struct gbench_state *st)
{
    return S(st)->error_occurred();
}

void gbench_set_label(struct gbench_state *st, const char *label)
{
    try {
        S(st)->SetLabel(label ? label : "");
    } catch (...) {
    }
}

} // extern "C"
