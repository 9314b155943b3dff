/*
 * IRQ-off walkers and an IPI round that waits for them, by variant:
 *   (default)  the 2019 powerpc walker-counting series as posted (ppc-serialize-counted) and its
 *              per-gather form in the bench (counted-ipi-skip): walkers mask interrupts, then
 *              atomic_inc + smp_mb ... smp_mb + atomic_dec; the freer (there: the huge-pmd writer's
 *              serialize_against_pte_lookup) smp_mb, reads the count, and sends the IPI round to the
 *              cpumask only if it is non-zero;
 *   -DALWAYS_IPI  ppc-serialize (powerpc before 5.8, and ppc-5.8's collapse): no count, the round always;
 *   -DIRQ_ON   broken: the count kept, the interrupt mask dropped (ppc-counted-irq-on): the round is
 *              acked by a walker in mid-walk.
 * Here the round guards the table's free or reuse directly. On powerpc the PTE table itself is
 * RCU-freed and what the round protects is the pmd's old target after a collapse (the table is
 * deposited and reused); the model's "free and reuse" stands for both.
 * CPU0 frees and reuses once; CPU1 and CPU2 walk once each.
 * Memory models: TSO (counted-ipi-skip as the bench runs it) and WEAK (powerpc; see memory.pml on
 * multi-copy atomicity).
 */
#define NCPU 3
mtype = { pmd, table, count };
#define MEMSIZE 4

inline LEAF_TABLE_REACHED(c) { skip }
inline FREE_PATH(c) {
    SMP_MB(c);
#ifdef ALWAYS_IPI
    send_ipis_and_wait(c, true, true)
#else
    LOAD(c, 0, count, seen);
    if
    :: seen != 0 -> send_ipis_and_wait(c, true, true)
    :: else -> printf("CPU%d count reads 0: no IPI\n", c)
    fi
#endif
}
#include "protocol.pml"

proctype Walker(byte c) {
    byte p;
#ifndef IRQ_ON
    IRQ_DISABLE(c);
#endif
#ifndef ALWAYS_IPI
    ATOMIC_ADD(c, count, 1);
    SMP_MB(c);
#endif
    walk_tables(c, p);
#ifndef ALWAYS_IPI
    SMP_MB(c);
    ATOMIC_ADD(c, count, 255);
#endif
#ifndef IRQ_ON
    IRQ_ENABLE(c)
#endif
}

proctype Freer(byte c) { byte seen; freer_cycles(c) }

init {
    atomic {
        mem[pmd] = table_gen;
        start_cpu(0); start_cpu(1); start_cpu(2);
        run Freer(0); run Walker(1); run Walker(2)
    }
}
