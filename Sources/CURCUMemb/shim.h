// CURCUMemb: liburcu 0.13's memb flavour for Swift.
//
// _LGPL_SOURCE makes urcu-memb.h map urcu_memb_read_lock/unlock to the static inline versions in
// urcu/static/urcu-memb.h (a TLS counter store plus a compiler barrier when membarrier is available)
// instead of the library's out-of-line functions; the wrappers below are static inline too, so the
// whole read side inlines into the Swift walk loop. The urcu names are macros (and, through
// urcu/map/clear.h, not even defined after the include), which Swift cannot call: hence our own names.
// Everything else (registration, call_rcu, rcu_barrier) is a call into liburcu-memb.so.
#ifndef WB_CURCU_MEMB_SHIM_H
#define WB_CURCU_MEMB_SHIM_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE 1
#endif
#include <urcu/urcu-memb.h>
#include <stddef.h>
#include <stdint.h>

// ---- The table batch (an mmu_table_batch). Kept identical in CURCUQsbr/shim.h: clang merges the
// ---- two definitions into one type (and refuses to build if they ever differ).
#ifndef WB_RCU_TABLE_BATCH_DEFINED
#define WB_RCU_TABLE_BATCH_DEFINED 1
/// MAX_TABLE_BATCH with 4 KiB pages on 64-bit: (PAGE_SIZE - sizeof(struct mmu_table_batch)) / sizeof(void *).
#define WB_MAX_TABLE_BATCH 509
/// What tlb_remove_table collects and call_rcu hands back: the rcu_head comes first, so the callback
/// turns the head's address into the batch's.
struct wb_rcu_table_batch {
    struct rcu_head head;
    void *context;          // the owner's reclaimer, an Unmanaged reference retained for the batch
    uint64_t submitted;     // TimeBase ticks at call_rcu
    uint32_t count;         // tables[0..<count] are valid
    uint32_t tables[WB_MAX_TABLE_BATCH];  // TableIndex raw values
};
_Static_assert(offsetof(struct wb_rcu_table_batch, head) == 0, "the rcu_head must come first");
static inline uint32_t *wb_rcu_table_batch_tables(struct wb_rcu_table_batch *b) { return b->tables; }
static inline struct rcu_head *wb_rcu_table_batch_head(struct wb_rcu_table_batch *b) { return &b->head; }
#endif

// ---- Read side (inline).
static inline void wb_memb_read_lock(void) { urcu_memb_read_lock(); }
static inline void wb_memb_read_unlock(void) { urcu_memb_read_unlock(); }
static inline int wb_memb_read_ongoing(void) { return urcu_memb_read_ongoing(); }
/// Whether the calling thread is registered (the flag urcu_memb_register_thread sets in its TLS reader).
static inline int wb_memb_thread_registered(void) { return URCU_TLS(urcu_memb_reader).registered; }

// ---- Forced schedules (validation): another thread reads a stopped reader's state.
/// The calling thread's reader counter, for `wb_memb_reader_nesting` on another thread.
static inline unsigned long *wb_memb_reader_counter(void) { return &URCU_TLS(urcu_memb_reader).ctr; }
/// The read-side nesting of the reader whose counter this is: non-zero while it is inside
/// rcu_read_lock, and then no grace period that began after its lock can end.
static inline unsigned long wb_memb_reader_nesting(unsigned long *ctr) {
    return CMM_LOAD_SHARED(*ctr) & URCU_GP_CTR_NEST_MASK;
}

// ---- Threads and updater side (library calls).
static inline void wb_memb_register_thread(void) { urcu_memb_register_thread(); }
static inline void wb_memb_unregister_thread(void) { urcu_memb_unregister_thread(); }
/// call_rcu: `func(head)` runs on liburcu's call_rcu thread after a grace period. The caller should
/// be a registered thread (call_rcu read-locks internally).
static inline void wb_memb_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *)) {
    urcu_memb_call_rcu(head, func);
}
/// rcu_barrier: waits until every callback queued before it has run. Not from a read-side section.
static inline void wb_memb_barrier(void) { urcu_memb_barrier(); }
static inline void wb_memb_synchronize_rcu(void) { urcu_memb_synchronize_rcu(); }

#endif
