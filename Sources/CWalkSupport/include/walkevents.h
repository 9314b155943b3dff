// The strategies' own event counts, process-wide: exported to PAPI as software-defined events under
// the library name "walkbench" (see Counters/SDECounters.swift). Plain long longs, as PAPI's SDE reads
// them; updated with relaxed atomic adds, off the walkers' per-walk path.
#ifndef WALKEVENTS_H
#define WALKEVENTS_H

enum wb_event {
    WB_EVENT_IPIS_SENT = 0,
    WB_EVENT_IPI_WAIT_NS,
    WB_EVENT_GRACE_PERIODS,
    WB_EVENT_TABLES_RETIRED,
    WB_EVENT_TABLES_FREED,
    WB_EVENT_TABLES_PENDING,
    WB_EVENT_WALKER_RETRIES,
    WB_EVENT_UAF_DETECTED,
    WB_EVENT_IPIS_SKIPPED_LAZY,
    WB_EVENT_COUNT
};

extern long long wb_events[WB_EVENT_COUNT];

static inline void wb_event_add(enum wb_event e, long long n) {
    __atomic_fetch_add(&wb_events[e], n, __ATOMIC_RELAXED);
}
static inline long long wb_event_read(enum wb_event e) { return __atomic_load_n(&wb_events[e], __ATOMIC_RELAXED); }
static inline long long *wb_event_address(enum wb_event e) { return &wb_events[e]; }

#endif
