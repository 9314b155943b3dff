/*
 * x86 from 6.15 (MMU_GATHER_RCU_TABLE_FREE unconditional): walkers mask interrupts; the freer
 * flushes and then frees the table only after an RCU grace period, which an IRQ-off region holds off.
 *   (default)    irq-disable-rcu: the flush is the IPI shootdown to the cpumask, then call_rcu;
 *   -DBROADCAST  invlpgb: the flush is a broadcast invalidation (INVLPGB + TLBSYNC), no IPI at all,
 *                then call_rcu;
 *   -DFOREIGN    CPU2's walker walks a foreign mm (not in the cpumask): safe in both, the grace
 *                period covers every CPU;
 *   -DBROADCAST -DNO_RCU   broken: broadcast flush and the table freed at once, as if INVLPGB did not
 *                need RCU: nothing waits for the IRQ-off walker.
 * CPU0 frees and reuses once; CPU1 and CPU2 walk once each. Memory model: TSO only (x86).
 */
#define NCPU 3
mtype = { pmd, table };
#define MEMSIZE 3
#include "protocol.pml"

bool in_cpumask[NCPU];

inline LEAF_TABLE_REACHED(c) { skip }
inline FREE_PATH(c) {
#ifdef BROADCAST
    SMP_MB(c);
    printf("CPU%d broadcast invalidation (INVLPGB, TLBSYNC): no CPU is interrupted\n", c);
#else
    send_ipis_and_wait(c, in_cpumask[1], in_cpumask[2]);
#endif
#ifndef NO_RCU
    kernel_grace_period(c)
#else
    skip
#endif
}

proctype Walker(byte c) {
    byte p;
    IRQ_DISABLE(c);
    walk_tables(c, p);
    IRQ_ENABLE(c)
}

proctype Freer(byte c) { freer_cycles(c) }

init {
    atomic {
        mem[pmd] = table_gen;
        in_cpumask[1] = true;
#ifdef FOREIGN
        in_cpumask[2] = false;
#else
        in_cpumask[2] = true;
#endif
        start_cpu(0); start_cpu(1); start_cpu(2);
        run Freer(0); run Walker(1); run Walker(2)
    }
}
