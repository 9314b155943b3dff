// What every C walk shares: the entry layout (Entry.swift), READ_ONCE of an entry, the oracle log
// (OracleOn) and validation's injected delay (Window.beforeLeafTable). Private to the kernels; included
// by walk_impl.h (both builds) and walklookup.c.
#ifndef WALK_COMMON_H
#define WALK_COMMON_H

#include <stdint.h>
#include <time.h>
#include "walkkernels.h"
#include "walksupport.h"  // CWalkSupport: wb_rdtsc, wb_cpu_relax

// Entry.swift's layout: [generation 16][payload 46][leaf][present].
#define WK_PRESENT_BIT 1ull
#define WK_LEAF_BIT 2ull
#define WK_PAYLOAD_SHIFT 2
#define WK_PAYLOAD_MASK ((1ull << 46) - 1)
#define WK_GENERATION_SHIFT 48
#define WK_GENERATION_MASK 0xFFFFull
#define WK_POISON 0xDEADBEEF0BADF00Cull

#define wk_likely(x) __builtin_expect(!!(x), 1)
#define wk_unlikely(x) __builtin_expect(!!(x), 0)

static inline int wk_is_present(uint64_t e) { return (e & WK_PRESENT_BIT) != 0; }
static inline int wk_is_leaf(uint64_t e) { return (e & WK_LEAF_BIT) != 0; }
static inline int wk_is_table(uint64_t e) { return (e & (WK_PRESENT_BIT | WK_LEAF_BIT)) == WK_PRESENT_BIT; }
static inline uint64_t wk_payload(uint64_t e) { return (e >> WK_PAYLOAD_SHIFT) & WK_PAYLOAD_MASK; }
static inline uint32_t wk_table_index(uint64_t e) { return (uint32_t)wk_payload(e); }
static inline uint32_t wk_generation(uint64_t e) { return (uint32_t)((e >> WK_GENERATION_SHIFT) & WK_GENERATION_MASK); }

/// The first entry of table t (TableMemory.table).
static inline const uint64_t *wk_table(const struct wk_space *s, uint32_t t) {
    return s->entries + (uint64_t)t * s->slot_entries;
}

/// READ_ONCE of one entry (TableMemory.load): a relaxed atomic load.
static inline uint64_t wk_load(const uint64_t *table, uint64_t slot) {
    return __atomic_load_n(&table[slot], __ATOMIC_RELAXED);
}

/// LevelMath.index.
static inline uint64_t wk_index(const struct wk_space *s, uint64_t addr, uint32_t level) {
    return (addr >> s->shifts[level]) & s->masks[level];
}

/// One walk's oracle state: the caller's record buffer, how many records it holds, and whether this
/// walk read a freed table (OracleOn.count / tainted).
struct wk_log {
    struct wk_oracle *o;
    uint64_t count;
    int tainted;
};

/// OracleOn.flush: compares every logged table's generation now with the one it was linked at.
static inline void wk_log_flush(struct wk_log *log, const uint32_t *generations) {
    // Acquire: the generation loads below may not move above the table reads before this point.
    // Pairs with the release fence in TablePool.free between the bump and the poison stores.
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    const uint64_t *records = log->o->records;
    for (uint64_t i = 0; i < log->count; i++) {
        uint64_t r = records[i];
        uint32_t now = __atomic_load_n(&generations[r >> 32], __ATOMIC_RELAXED);
        if ((now & (uint32_t)WK_GENERATION_MASK) != (uint32_t)r) log->tainted = 1;
    }
    log->count = 0;
}

/// OracleOn.followed: the walker is about to read `table`, linked at `generation`.
static inline void wk_log_followed(struct wk_log *log, const uint32_t *generations, uint32_t table, uint32_t generation) {
    if (log->count == log->o->capacity) wk_log_flush(log, generations);
    log->o->records[log->count++] = ((uint64_t)table << 32) | generation;
}

/// PTELocks.lock: spin_lock on the table's word (acquire).
static inline void wk_pte_lock(uint32_t *locks, uint32_t t) {
    uint32_t expected = 0;
    while (!__atomic_compare_exchange_n(&locks[t], &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        do wb_cpu_relax(); while (__atomic_load_n(&locks[t], __ATOMIC_RELAXED) != 0);
        expected = 0;
    }
}

/// PTELocks.unlock: spin_unlock (release).
static inline void wk_pte_unlock(uint32_t *locks, uint32_t t) { __atomic_store_n(&locks[t], 0, __ATOMIC_RELEASE); }

static inline uint64_t wk_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// Window.beforeLeafTable's injected delay (the strategy's leafTableReached is not called from C).
static inline void wk_before_leaf_table(const struct wk_oracle *o) {
    uint64_t ticks = o->delay_ticks;
    if (wk_likely(ticks == 0)) return;
    if (o->delay_tsc) {
        uint64_t until = wb_rdtsc() + ticks;
        while (wb_rdtsc() < until) wb_cpu_relax();
    } else {
        uint64_t until = wk_monotonic_ns() + ticks;
        while (wk_monotonic_ns() < until) wb_cpu_relax();
    }
}

#endif
