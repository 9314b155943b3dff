// Small C helpers for what Swift cannot reach on Linux. Hot helpers are static inline
// so that Swift's clang importer inlines them into the walk loops.
#ifndef WALKSUPPORT_H
#define WALKSUPPORT_H

#include <stdint.h>
#include <pthread.h>

// Time-stamp counter. wb_rdtsc is unordered (for batch timing, where a few cycles of
// skew over thousands of walks do not matter); wb_rdtsc_ordered waits for earlier
// instructions (lfence) so a single sampled walk is not timed before it has run.
static inline uint64_t wb_rdtsc(void) {
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
#else
    return 0;
#endif
}

static inline uint64_t wb_rdtsc_ordered(void) {
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
#else
    return 0;
#endif
}

/// 1 when this build can read a TSC at all.
static inline int wb_has_tsc(void) {
#if defined(__x86_64__)
    return 1;
#else
    return 0;
#endif
}

static inline void wb_cpu_relax(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/// barrier(): stops the compiler moving memory accesses across it; emits no instruction.
static inline void wb_compiler_barrier(void) { __asm__ __volatile__("" ::: "memory"); }

/// Keeps a value alive so the optimiser cannot delete the work that produced it.
static inline void wb_consume(uint64_t v) { __asm__ __volatile__("" : : "r"(v) : "memory"); }

/// --extra-work: `n` dependent additions on `x`, which the optimiser can neither fold nor drop (the
/// empty asm makes each step's result opaque). The same instructions run in wall-clock and callgrind
/// mode, so a slowdown planted with it shows in both.
static inline uint64_t wb_extra_work(uint64_t x, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        x += i;
        __asm__ __volatile__("" : "+r"(x));
    }
    return x;
}

/// Pins the calling thread to one CPU. Returns 0 or an errno value.
int wb_pin_self(int cpu);
/// The CPU the calling thread runs on now, or -1.
int wb_current_cpu(void);
/// The number of CPUs this process may run on (its affinity mask), or -1.
int wb_allowed_cpus(void);
/// Writes up to `max` CPU numbers this process may run on into `out`; returns how many, or -1.
int wb_allowed_cpu_list(int *out, int max);
/// The calling thread's kernel id.
long wb_gettid(void);

/// A reader-writer lock that prefers writers (mmap_lock semantics: a waiting writer
/// holds off new readers). Returns 0 or an errno value.
int wb_rwlock_init_writer_preferring(pthread_rwlock_t *lock);

/// rename(2) that fails with EEXIST instead of replacing (renameat2 RENAME_NOREPLACE).
/// Returns 0 or -1 with errno set.
int wb_rename_noreplace(const char *from, const char *to);

/// SIGINT and SIGTERM stop a run between cells instead of killing it: the handler only records the
/// signal, and the measuring loops ask `wb_stop_signal` between cells. A second signal kills at once.
/// Returns 0 or an errno value.
int wb_stop_signals_install(void);
/// The signal that asked the run to stop, or 0.
int wb_stop_signal(void);

/// 1 when this code was compiled with AddressSanitizer (swift build --sanitize=address), else 0.
int wb_asan_enabled(void);
/// Marks [p, p+n) unreadable for ASan (a freed table) / readable again (reused); no-ops without ASan.
void wb_asan_poison(void *p, size_t n);
void wb_asan_unpoison(void *p, size_t n);

/// libFuzzer's driver (compiler-rt), for the fuzz targets' entry point when built with
/// -sanitize=fuzzer (`make fuzz`); nothing else refers to it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
