/*
 * The parts every protocol model shares: the walk (pmd load, then the table the pmd points to), the
 * freer's unlink-free-reuse cycle, and interrupts (soft mask, pending IPI, ack when interrupts are on).
 *
 * Shared locations the model must declare in its mtype: pmd (0, or the generation of the table it
 * links) and table (the last-level table's contents; reading it is the checked read).
 * Steps print "@<point>": the names are ProtocolPoint's raw values in
 * Sources/WalkBench/Validation/ForcedSchedule.swift, and a test holds the two lists together.
 *
 * The model supplies:
 *   LEAF_TABLE_REACHED(c)  what a walker does between loading the pmd and reading the table
 *   FREE_PATH(c)           what the freer does between unlinking the table and freeing it
 */
#define TABLE_READS
#include "memory.pml"

/* Walker c's window: both loads; the window-opening and -closing code is the model's. */
inline walk_tables(c, p) {
    printf("CPU%d @window-open\n", c);
    LOAD(c, 0, pmd, p);
    held_gen[c] = p;
    printf("CPU%d @leaf-pointer-loaded (pmd=%d)\n", c, p);
    LEAF_TABLE_REACHED(c);
    printf("CPU%d @leaf-table-next\n", c);
    if
    :: p != 0 -> LOAD_ASYNC(c, 1, table)   /* address-dependent on p: issued after p is known */
    :: else -> printf("CPU%d saw the pmd cleared: no table to read\n", c)
    fi;
    printf("CPU%d @window-closing\n", c)
}

/* One unlink-free cycle of the freer on CPU c, for the table generation now linked. */
inline free_table(c) {
    STORE(c, pmd, 0);
    printf("CPU%d @unlinked (gen %d)\n", c, table_gen);
    printf("CPU%d @free-started\n", c);
    FREE_PATH(c);
    atomic { table_live = false; printf("CPU%d @freed (gen %d)\n", c, table_gen) }
}

/* The table is allocated again (its contents rewritten) and linked at the same pmd: the reuse. */
inline reuse_table(c) {
    atomic { table_gen++; table_live = true; printf("CPU%d reuses the table as gen %d\n", c, table_gen) }
    SMP_WMB(c);   /* pmd_populate: the new contents before the link */
    STORE(c, pmd, table_gen)
}

/* The freer: free the table, reuse it once, free it again. */
#define REUSES 1
inline freer_cycles(c) {
    free_table(c);
    reuse_table(c);
    free_table(c)
}

/* Interrupts, as the kernel's soft view: irq_off[c] is the CPU's mask (local_irq_disable), an IPI
 * sets ipi_pending[c], and the CPU's handler runs it only while interrupts are on, at an
 * instruction boundary, so everything before it is done and visible (DRAINED). The handler's ack
 * is clearing ipi_pending. These flags are the interrupt controller, not memory: they do not go
 * through the store buffers; what the sender stored before sending is drained first (send_ipis). */
bool irq_off[NCPU];
bool ipi_pending[NCPU];

inline IRQ_DISABLE(c) { atomic { irq_off[c] = true; printf("CPU%d local_irq_disable\n", c) } }
inline IRQ_ENABLE(c) { atomic { irq_off[c] = false; printf("CPU%d local_irq_enable\n", c) } }

/* The IPI handler of CPU c. IPI_ACTION(c) is what it does besides the ack (a lazy CPU's switch);
 * a model that needs one defines HAS_IPI_ACTION. */
#ifndef HAS_IPI_ACTION
inline IPI_ACTION(c) { skip }
#endif
proctype Interrupts(byte c) {
end:
    do
    :: atomic {
           ipi_pending[c] && !irq_off[c] && DRAINED(c) ->
           IPI_ACTION(c);
           ipi_pending[c] = false;
           printf("CPU%d takes the IPI and acks it\n", c)
       }
    od
}

/* smp_call_function_many(mask, wait=1) from CPU s: the stores before it drained (the csd queueing
 * is a locked operation), an IPI to each CPU in the mask, then wait for every ack. */
inline send_ipis_and_wait(s, to1, to2) {
    SMP_MB(s);
    atomic {
        if :: to1 -> ipi_pending[1] = true :: else -> skip fi;
        if :: to2 -> ipi_pending[2] = true :: else -> skip fi;
        printf("CPU%d sends IPIs (CPU1: %d, CPU2: %d) and waits\n", s, to1, to2)
    }
    (!ipi_pending[1] && !ipi_pending[2]);
    printf("CPU%d has every ack\n", s)
}

/* A kernel RCU grace period, as seen by the freer on CPU s: every other CPU is seen in a quiescent
 * state, interrupts on and not in rcu_read_lock, at an instant at which all it did before is visible
 * (the quiescent-state report's full barrier); the freer's own accesses are ordered before (smp_mb). */
bool rcu_reader[NCPU];
inline kernel_grace_period(s) {
    SMP_MB(s);
    printf("CPU%d grace period starts\n", s);
    atomic { !irq_off[1] && !rcu_reader[1] && DRAINED(1) -> printf("CPU1 reports a quiescent state\n") }
    atomic { !irq_off[2] && !rcu_reader[2] && DRAINED(2) -> printf("CPU2 reports a quiescent state\n") }
    printf("CPU%d grace period ends\n", s)
}

/* Starts CPU c's buffer process and interrupt handler. */
inline start_cpu(c) { run Buffer(c); run Interrupts(c) }
