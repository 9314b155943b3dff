// Valgrind client requests for `bench run --callgrind`: callgrind's macros (valgrind/callgrind.h) are
// statement macros built from inline asm, which Swift's clang importer cannot call, so each is wrapped
// in a static inline function here. Outside valgrind a client request is a short no-op instruction
// sequence (a few rotates of %rdi) that leaves every register as it was; the requests are made only
// around the counted region, never inside a walk.
//
// Without the valgrind headers (Debian's `valgrind` package ships them in /usr/include/valgrind) the
// functions compile to nothing and wb_valgrind_headers() returns 0, so the package still builds.
#ifndef WALKVALGRIND_H
#define WALKVALGRIND_H

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/valgrind.h>
#include <valgrind/callgrind.h>
#define WB_HAVE_VALGRIND_HEADERS 1
#endif
#endif

/// 1 if this build was compiled with valgrind's client-request headers.
static inline int wb_valgrind_headers(void) {
#ifdef WB_HAVE_VALGRIND_HEADERS
    return 1;
#else
    return 0;
#endif
}

/// RUNNING_ON_VALGRIND: 0 natively, the nesting depth (1) under valgrind.
static inline int wb_running_on_valgrind(void) {
#ifdef WB_HAVE_VALGRIND_HEADERS
    return (int)RUNNING_ON_VALGRIND;
#else
    return 0;
#endif
}

/// CALLGRIND_TOGGLE_COLLECT: flips the calling thread's collection state (callgrind keeps it per thread;
/// with --collect-atstart=no every thread starts with collection off).
static inline void wb_callgrind_toggle_collect(void) {
#ifdef WB_HAVE_VALGRIND_HEADERS
    CALLGRIND_TOGGLE_COLLECT;
#endif
}

/// CALLGRIND_ZERO_STATS: zeroes the costs collected so far.
static inline void wb_callgrind_zero_stats(void) {
#ifdef WB_HAVE_VALGRIND_HEADERS
    CALLGRIND_ZERO_STATS;
#endif
}

/// CALLGRIND_DUMP_STATS: writes a profile dump of the costs so far and zeroes them.
static inline void wb_callgrind_dump_stats(void) {
#ifdef WB_HAVE_VALGRIND_HEADERS
    CALLGRIND_DUMP_STATS;
#endif
}

/// CALLGRIND_START_INSTRUMENTATION / CALLGRIND_STOP_INSTRUMENTATION (for --instr-atstart=no runs).
static inline void wb_callgrind_start_instrumentation(void) {
#ifdef WB_HAVE_VALGRIND_HEADERS
    CALLGRIND_START_INSTRUMENTATION;
#endif
}
static inline void wb_callgrind_stop_instrumentation(void) {
#ifdef WB_HAVE_VALGRIND_HEADERS
    CALLGRIND_STOP_INSTRUMENTATION;
#endif
}

#endif
