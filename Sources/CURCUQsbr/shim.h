// CURCUQsbr: liburcu 0.13's QSBR flavour for Swift.
//
// _LGPL_SOURCE makes urcu-qsbr.h map the read side, quiescent_state and thread_online/offline to the
// static inline versions in urcu/static/urcu-qsbr.h (read lock/unlock: nothing at all without
// DEBUG_RCU; quiescent_state: a load and compare, a store and fences only when a grace period has
// moved on) instead of library calls; the wrappers below are static inline too, so they inline into
// Swift. The urcu names are macros, which Swift cannot call: hence our own names.
//
// QSBR rules: a registered thread is online, and an online thread that announces no quiescent state
// blocks every grace period, so a thread goes offline before it blocks or waits. call_rcu should be
// called from a registered, online thread; rcu_barrier and synchronize_rcu take an online caller
// offline themselves while they wait.
#ifndef WB_CURCU_QSBR_SHIM_H
#define WB_CURCU_QSBR_SHIM_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE 1
#endif
#include <urcu/urcu-qsbr.h>
#include <stddef.h>
#include <stdint.h>

// ---- The table batch: kept identical to CURCUMemb/shim.h (clang merges the two definitions).
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
static inline void wb_qsbr_read_lock(void) { urcu_qsbr_read_lock(); }
static inline void wb_qsbr_read_unlock(void) { urcu_qsbr_read_unlock(); }
/// Non-zero while the thread is online (QSBR has no read-side nesting count).
static inline int wb_qsbr_read_ongoing(void) { return urcu_qsbr_read_ongoing(); }
static inline void wb_qsbr_quiescent_state(void) { urcu_qsbr_quiescent_state(); }
static inline void wb_qsbr_thread_offline(void) { urcu_qsbr_thread_offline(); }
static inline void wb_qsbr_thread_online(void) { urcu_qsbr_thread_online(); }
/// Whether the calling thread is registered (the flag urcu_qsbr_register_thread sets in its TLS reader).
static inline int wb_qsbr_thread_registered(void) { return URCU_TLS(urcu_qsbr_reader).registered; }

// ---- Forced schedules (validation): another thread reads a stopped reader's state.
/// The calling thread's reader counter, for `wb_qsbr_reader_holds_grace_period` on another thread.
static inline unsigned long *wb_qsbr_reader_counter(void) { return &URCU_TLS(urcu_qsbr_reader).ctr; }
/// Whether a grace period is in progress and waiting for this reader: it is online and has announced
/// no quiescent state since the grace period began (liburcu's URCU_READER_ACTIVE_OLD).
static inline int wb_qsbr_reader_holds_grace_period(unsigned long *ctr) {
    return urcu_qsbr_reader_state(ctr) == URCU_READER_ACTIVE_OLD;
}

// ---- Threads and updater side (library calls).
/// Registers the calling thread, which is then online.
static inline void wb_qsbr_register_thread(void) { urcu_qsbr_register_thread(); }
/// Unregisters the calling thread (taking it offline first).
static inline void wb_qsbr_unregister_thread(void) { urcu_qsbr_unregister_thread(); }
static inline void wb_qsbr_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *)) {
    urcu_qsbr_call_rcu(head, func);
}
static inline void wb_qsbr_barrier(void) { urcu_qsbr_barrier(); }
static inline void wb_qsbr_synchronize_rcu(void) { urcu_qsbr_synchronize_rcu(); }

#endif
