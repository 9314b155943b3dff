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
 *   -DJOINING  CPU2 switches into the mm (sets its cpumask bit, a locked op) just before it walks:
 *              the freer's cpumask snapshot, read after its smp_mb, either has the bit or the
 *              walker's pmd load sees the unlink;
 *   -DFOREIGN  broken: a walker on a foreign mm (its CPU not in the mm's cpumask: seed 001's GRU).
 * The cpumask bits are memory (mask1, mask2), read by the freer through the memory model.
 * Memory model: TSO only; this protocol frees tables after IPIs only on x86 (elsewhere tables are RCU-freed).
 */
#define NCPU 3
mtype = { pmd, table, mask1, mask2 };
#define MEMSIZE 5
#define MASK(c) ((c) == 1 -> mask1 : mask2)
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
    /* The cpumask snapshot, read after the unlink is ordered before it; and whether lazy CPUs get
     * the IPI: they must when tables are freed. */
    SMP_MB(c);
    LOAD(c, 0, mask1, in1);
    LOAD(c, 0, mask2, in2);
#ifdef SKIP_LAZY
    send_ipis_and_wait(c, in1 && !lazy[1], in2 && !lazy[2])
#else
    send_ipis_and_wait(c, in1, in2)
#endif
}
#include "protocol.pml"

proctype Walker(byte c) {
    byte p;
#ifdef JOINING
    if
    :: c == 2 ->   /* switch_mm into the mm: set the cpumask bit (lock bts, a full barrier), then walk */
        STORE(c, MASK(c), 1); SMP_MB(c); printf("CPU%d switched into the mm\n", c)
    :: else -> skip
    fi;
#endif
    IRQ_DISABLE(c);
    walk_tables(c, p);
    IRQ_ENABLE(c)
}

proctype Freer(byte c) { byte in1, in2; freer_cycles(c) }

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
        mem[mask1] = 1;
#if defined(FOREIGN) || defined(JOINING)
        mem[mask2] = 0;
#else
        mem[mask2] = 1;
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
