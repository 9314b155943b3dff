/*
 * Walker counting with the freer spinning until the count reads zero (an SRCU-like reader count).
 *
 *   (default)  counted: one shared count; walkers atomic_inc + smp_mb ... smp_mb + atomic_dec; the
 *              freer unlinks, smp_mb, waits for the count to read 0, frees;
 *   -DPERCPU   counted-percpu: each walker its own count, this_cpu_inc (a load and a plain store, no
 *              lock) + smp_mb; the freer waits for each count to read 0;
 *   -DPERCPU -DNO_FENCE   broken: the count published with a plain store and no fence after it;
 *   -DEARLY_DEC           broken: the decrement before the last table read (the series' v1 bug);
 *   -DNO_END_FENCE        no smp_mb before the decrement: safe under TSO (a store never passes an
 *                         earlier load; the compiler must still keep the order), broken under WEAK
 *                         (the decrement may be visible before the table read is performed).
 * CPU0 frees and reuses the table once; CPU1 and CPU2 walk once each.
 * Memory models: TSO (x86, what the bench runs) and WEAK (arm64/powerpc, where the series was posted).
 */
#define NCPU 3
mtype = { pmd, table, count, count1, count2 };
#define MEMSIZE 6

#ifdef PERCPU
#define MY_COUNT(c) ((c) == 1 -> count1 : count2)
#endif

inline count_up(c) {
#ifdef PERCPU
    LOAD(c, 0, MY_COUNT(c), v); STORE(c, MY_COUNT(c), v + 1)
#else
    ATOMIC_ADD(c, count, 1)
#endif
}
inline count_down(c) {
#ifdef PERCPU
    LOAD(c, 0, MY_COUNT(c), v); STORE(c, MY_COUNT(c), v - 1)
#else
    ATOMIC_ADD(c, count, 255)   /* -1 in a byte */
#endif
}

inline LEAF_TABLE_REACHED(c) {
#ifdef EARLY_DEC
    SMP_MB(c); count_down(c)
#else
    skip
#endif
}

inline wait_for_zero(c, loc) {
    do
    :: LOAD(c, 0, loc, seen);
       if :: seen == 0 -> break :: else -> skip fi
    od
}
inline FREE_PATH(c) {
    SMP_MB(c);
#ifdef PERCPU
    wait_for_zero(c, MY_COUNT(1)); wait_for_zero(c, MY_COUNT(2))
#else
    wait_for_zero(c, count)
#endif
}
#include "protocol.pml"

proctype Walker(byte c) {
    byte p, v;
    count_up(c);
#ifndef NO_FENCE
    SMP_MB(c);
#endif
    walk_tables(c, p);
#ifndef EARLY_DEC
#ifndef NO_END_FENCE
    SMP_MB(c);
#endif
    count_down(c)
#endif
}

proctype Freer(byte c) { byte seen, v; freer_cycles(c) }

init {
    atomic {
        mem[pmd] = table_gen;
        start_cpu(0); start_cpu(1); start_cpu(2);
        run Freer(0); run Walker(1); run Walker(2)
    }
}
