/*
 * irq-disable: x86 up to 6.14 without PARAVIRT. Walkers mask interrupts around the walk; the freer
 * unlinks, sends the TLB-shootdown IPI to its snapshot of the mm's cpumask, waits for every ack, and
 * frees the table. A CPU with interrupts masked cannot ack, so the freer waits for its walk.
 *
 * CPU0 frees (and reuses the table once); CPU1 walks in the mm; CPU2 is, by variant:
 *   (default)  a second walker in the mm;
 *   -DLAZY     lazy in the mm: running a kernel thread with the mm's page tables still loaded, so its
 *              MMU's page walker (the agent MMU below) may load the pmd and read the table on its own
 *              and keep the pmd entry cached. The freed_tables rule: a flush that frees tables IPIs
 *              lazy CPUs too, whose handler switches to init_mm, dropping the cached entry;
 *   -DLAZY -DSKIP_LAZY   broken: lazy CPUs skipped even when tables are freed;
 *   -DFOREIGN  broken: a walker on a foreign mm (its CPU not in the mm's cpumask: seed 001's GRU).
 * Memory model: TSO only; this protocol frees tables after IPIs only on x86 (elsewhere tables are RCU-freed).
 */
#define NCPU 3
mtype = { pmd, table };
#define MEMSIZE 3

bool in_cpumask[NCPU];
bool lazy[NCPU];
bool mmu_uses_mm[NCPU];   /* the CPU's page-table base still points at the mm's tables */

#define HAS_IPI_ACTION
inline IPI_ACTION(c) {
    if
    :: lazy[c] && mmu_uses_mm[c] -> mmu_uses_mm[c] = false; printf("CPU%d (lazy) switches to init_mm\n", c)
    :: else -> skip
    fi
}
inline LEAF_TABLE_REACHED(c) { skip }
inline FREE_PATH(c) {
    /* The cpumask snapshot, and whether lazy CPUs get the IPI: they must when tables are freed. */
#ifdef SKIP_LAZY
    send_ipis_and_wait(c, in_cpumask[1] && !lazy[1], in_cpumask[2] && !lazy[2])
#else
    send_ipis_and_wait(c, in_cpumask[1], in_cpumask[2])
#endif
}
#include "protocol.pml"

proctype Walker(byte c) {
    byte p;
    IRQ_DISABLE(c);
    walk_tables(c, p);
    IRQ_ENABLE(c)
}

proctype Freer(byte c) { freer_cycles(c) }

/* The lazy CPU's page walker: it may load the pmd at any time while the mm is loaded, keep the
 * entry, and read the table through it later, until the CPU switches away. */
proctype MMU(byte c) {
    byte cached;
end:
    do
    :: atomic { mmu_uses_mm[c] -> cached = mem[pmd]; printf("CPU%d MMU loads pmd=%d into its walk cache\n", c, cached) }
    :: atomic { mmu_uses_mm[c] && cached != 0 -> held_gen[c] = cached; printf("CPU%d MMU walks through its cached pmd\n", c); perform_table_read(c) }
    od
}

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
        run Freer(0);
        run Walker(1);
#ifdef LAZY
        lazy[2] = true; mmu_uses_mm[2] = true;
        run MMU(2)
#else
        run Walker(2)
#endif
    }
}
