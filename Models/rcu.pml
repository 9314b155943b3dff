/*
 * RCU table free (MMU_GATHER_RCU_TABLE_FREE), walkers as liburcu readers, by variant:
 *   -DMEMB     rcu-memb: rcu_read_lock stores the reader's flag with only a compiler barrier (liburcu's
 *              membarrier flavour); the grace period: smp_mb, membarrier (a full barrier on every
 *              reader CPU, at an instant of its choosing), wait until each reader's flag reads 0,
 *              membarrier again; then the table is freed;
 *   -DQSBR     rcu-qsbr: the read side is empty; a walker announces a quiescent state after its walk
 *              (smp_mb, copy the grace-period counter, smp_mb) and then goes offline; the grace period
 *              bumps the counter and waits for each reader to have copied it or be offline;
 *   -DQSBR -DEARLY_QS       broken: the quiescent state announced inside the window;
 *   -DMEMB -DNO_MEMBARRIER  broken: the grace period without membarrier (the writer's smp_mb only,
 *              the reader's flag store unfenced: the store-buffering shape);
 *   -DMEMB -DONE_MEMBARRIER irq-disable-membarrier: the same flag, but the freer frees right after
 *              seeing the flags clear, with no membarrier after: safe under TSO (a store never passes
 *              an earlier load), a counterexample under WEAK (the flag's clear may become visible
 *              before the walker's table read is performed);
 *   -DIRQ_READERS           walkers also mask interrupts (rcu-memb-irq);
 *   -DFALLBACK              the batch allocation failed: tlb_remove_table_sync_one (an IPI to every
 *              CPU, waiting for each ack) and the table is freed at once, no grace period.
 *              With -DIRQ_READERS safe; with rcu_read_lock-only readers (MEMB or QSBR) broken.
 * CPU0 frees and reuses once; CPU1 and CPU2 walk once each. liburcu's two-phase counter (for
 * readers that re-enter during a grace period) is one phase here: each reader walks once.
 * Memory models: TSO and WEAK (the kernel and liburcu run it on x86, arm64 and powerpc).
 */
#define NCPU 3
mtype = { pmd, table, reader1, reader2, gp };
#define MEMSIZE 6
#define READER(c) ((c) == 1 -> reader1 : reader2)
#include "protocol.pml"

#ifdef QSBR
#define OFFLINE 0
inline quiescent_state(c) {
    SMP_MB(c);
    LOAD(c, 0, gp, v);
    STORE(c, READER(c), v);
    printf("CPU%d quiescent state (gp %d)\n", c, v);
    SMP_MB(c)
}
#endif

inline LEAF_TABLE_REACHED(c) {
#ifdef EARLY_QS
    quiescent_state(c)
#else
    skip
#endif
}

/* membarrier(PRIVATE_EXPEDITED): every other CPU running the process executes a full barrier. */
inline membarrier(s) {
    SMP_MB(s);
#ifndef NO_MEMBARRIER
    atomic { DRAINED(1) -> printf("CPU1 membarrier IPI: full barrier\n") }
    atomic { DRAINED(2) -> printf("CPU2 membarrier IPI: full barrier\n") }
#endif
}

inline wait_reader(waiter, rc) {
    do
    :: LOAD(waiter, 0, READER(rc), seen);
#ifdef QSBR
       if :: seen == OFFLINE || seen == g -> break :: else -> skip fi
#else
       if :: seen == 0 -> break :: else -> skip fi
#endif
    od
}

inline grace_period(s) {
#ifdef QSBR
    SMP_MB(s);
    LOAD(s, 0, gp, g); g = g + 1; STORE(s, gp, g);
    SMP_MB(s);
    printf("CPU%d grace period %d starts\n", s, g);
    wait_reader(s, 1); wait_reader(s, 2);
    SMP_MB(s)
#else
    membarrier(s);
    printf("CPU%d grace period starts\n", s);
    wait_reader(s, 1); wait_reader(s, 2);
#ifndef ONE_MEMBARRIER
    membarrier(s)
#endif
#endif
}

inline FREE_PATH(c) {
#ifdef FALLBACK
    printf("CPU%d no batch page: tlb_remove_table_sync_one\n", c);
    send_ipis_and_wait(c, true, true)
#else
    grace_period(c)
#endif
}

proctype Walker(byte c) {
    byte p, v;
#ifdef IRQ_READERS
    IRQ_DISABLE(c);
#endif
#ifdef MEMB
    STORE(c, READER(c), 1);   /* rcu_read_lock: a store and a compiler barrier */
#endif
    walk_tables(c, p);
#ifdef MEMB
    STORE(c, READER(c), 0);   /* rcu_read_unlock */
#endif
#ifdef IRQ_READERS
    IRQ_ENABLE(c);
#endif
#ifdef QSBR
#ifndef EARLY_QS
    quiescent_state(c);
#endif
    STORE(c, READER(c), OFFLINE);   /* thread_offline: smp_mb, store 0 */
    printf("CPU%d offline\n", c);
    SMP_MB(c)
#endif
}

proctype Freer(byte c) { byte seen, g; freer_cycles(c) }

init {
    atomic {
        mem[pmd] = table_gen;
#ifdef QSBR
        mem[gp] = 1; mem[reader1] = 1; mem[reader2] = 1;   /* online, current */
#endif
        start_cpu(0); start_cpu(1); start_cpu(2);
        run Freer(0); run Walker(1); run Walker(2)
    }
}
