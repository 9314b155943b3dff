/*
 * The memory models every walkbench model runs under, as explicit per-CPU machinery.
 *
 * A model defines, before including this file:
 *   NCPU      number of CPUs (0 .. NCPU-1)
 *   mtype     its shared locations (pmd, counts, flags); mem[] is indexed by them
 *   MEMSIZE   one more than the largest mtype value (the number of names declared + 1)
 * and, if a walker reads a page table, TABLE_READS (see perform_table_read below).
 *
 * TSO (the default): x86-TSO. Each CPU has a FIFO store buffer of depth SB_DEPTH. A store enters the
 * buffer; the CPU's buffer process commits the oldest entry to memory at any moment. A load reads
 * the CPU's own youngest buffered store to the location if there is one (forwarding), else memory:
 * so a load may complete before the CPU's own earlier stores are visible to anyone else, and that is
 * the only reordering. smp_mb (MFENCE) and every locked read-modify-write wait for an empty buffer.
 *
 * WEAK (-DWEAK): an other-multi-copy-atomic model in the style of arm64, weaker than TSO in three ways:
 *   - store -> store: buffered stores to different locations commit in any order (same-location
 *     stores stay in order: coherence); smp_wmb() keeps the stores before it ahead of those after;
 *   - load -> load and load -> store: a load may be issued and performed later (LOAD_ASYNC ... USE),
 *     after later loads and after later stores have become visible, until its value is used, an
 *     address-dependent load needs it (the walker's table read after its pmd load), or a barrier;
 *     smp_rmb() waits for every pending load; loads of one location are performed in order;
 *   - store -> load: as TSO, plus a relaxed read-modify-write (arm64 atomic_inc: no barrier
 *     implied) whose write waits in the store buffer.
 * It is multi-copy atomic for every CPU but the writer: there is one memory, and a store reaches
 * all other CPUs at the same moment (when its buffer entry commits); only its own CPU sees it early.
 * That is arm64 (ARMv8 is other-multi-copy-atomic). POWER is not multi-copy atomic: a store may
 * reach one CPU before another, which IRIW with smp_rmb() shows on POWER and this model forbids.
 * The protocols here order every cross-CPU handshake with smp_mb() (sync on POWER, cumulative) or
 * with interrupts and grace periods, so the missing non-MCA behaviours are not expected to change
 * their verdicts; that argument is not checked by a model.
 *
 * -DSC (sequential consistency) exists only to classify counterexamples; see STORE.
 *
 * Not modelled: control dependencies ordering load -> store (none of the models needs them: a load
 * whose value decides is waited for, LOAD), acquire/release accessors, speculation of an RMW's read.
 * Each CPU has at most SB_DEPTH buffered stores and LOAD_SLOTS pending loads; going over is an
 * assertion failure, not a silent stall, so the bounds never hide a behaviour.
 */

#define SB_DEPTH 2
#define LOAD_SLOTS 2

byte mem[MEMSIZE];
byte sb_addr[NCPU * SB_DEPTH];
byte sb_val[NCPU * SB_DEPTH];
byte sb_len[NCPU];
#ifdef WEAK
byte sb_epoch[NCPU * SB_DEPTH];  /* smp_wmb() count at the store: lower epochs commit first */
byte wmb_epoch[NCPU];
byte rmw_owner[MEMSIZE];         /* CPU+1 whose relaxed RMW on the location is still buffered */
bool ld_pending[NCPU * LOAD_SLOTS];
byte ld_addr[NCPU * LOAD_SLOTS];
byte ld_val[NCPU * LOAD_SLOTS];
#define NO_PENDING_LOADS(c) (!ld_pending[(c)*LOAD_SLOTS] && !ld_pending[(c)*LOAD_SLOTS+1])
#define PENDING_LOAD_OF(c, a) ((ld_pending[(c)*LOAD_SLOTS] && ld_addr[(c)*LOAD_SLOTS] == (a)) || \
                               (ld_pending[(c)*LOAD_SLOTS+1] && ld_addr[(c)*LOAD_SLOTS+1] == (a)))
#else
#define NO_PENDING_LOADS(c) true
#define PENDING_LOAD_OF(c, a) false
#endif
/* Everything the CPU did before this point is visible to all: what an interrupt, membarrier's IPI or
 * a grace period's quiescent-state report guarantees about the CPU it lands on. */
#define DRAINED(c) (sb_len[c] == 0 && NO_PENDING_LOADS(c))

/* Prints CPU c's store buffer, oldest first, for the counterexample schedules. */
inline print_buffer(c) {
    printf(" | sb%d: [", c);
    if :: sb_len[c] > 0 -> printf("%e=%d", sb_addr[(c)*SB_DEPTH], sb_val[(c)*SB_DEPTH]) :: else -> skip fi;
    if :: sb_len[c] > 1 -> printf(" %e=%d", sb_addr[(c)*SB_DEPTH+1], sb_val[(c)*SB_DEPTH+1]) :: else -> skip fi;
    printf("]\n")
}

/* The value CPU c sees at location a: its own youngest buffered store there, else memory. */
inline forwarded(c, a, v) {
    if
    :: sb_len[c] > 1 && sb_addr[(c)*SB_DEPTH+1] == (a) -> v = sb_val[(c)*SB_DEPTH+1]
    :: else ->
        if
        :: sb_len[c] > 0 && sb_addr[(c)*SB_DEPTH] == (a) -> v = sb_val[(c)*SB_DEPTH]
        :: else -> v = mem[a]
        fi
    fi
}

#ifdef SC
/* -DSC: sequential consistency, no buffering at all. Not a model the kernel runs on: scripts/verify
 * runs each counterexample again under it to tell which ones need a store-buffer reordering (those
 * cannot be forced by stopping threads) and which are pure schedules (forced schedules replay them). */
inline STORE(c, a, v) { atomic { mem[a] = v; printf("CPU%d store %e=%d (SC)\n", c, a, v) } }
#else
inline STORE(c, a, v) {
    atomic {
        !PENDING_LOAD_OF(c, a) ->   /* a store never overtakes an earlier load of its location */
        assert(sb_len[c] < SB_DEPTH);
        sb_addr[(c)*SB_DEPTH + sb_len[c]] = a;
        sb_val[(c)*SB_DEPTH + sb_len[c]] = v;
#ifdef WEAK
        sb_epoch[(c)*SB_DEPTH + sb_len[c]] = wmb_epoch[c];
#endif
        sb_len[c]++;
        printf("CPU%d store %e=%d (buffered)", c, a, v); print_buffer(c)
    }
}
#endif

/* Commits entry k (0 = oldest) of CPU c's buffer to memory. */
inline commit(c, k) {
    mem[sb_addr[(c)*SB_DEPTH + k]] = sb_val[(c)*SB_DEPTH + k];
    printf("CPU%d commit %e=%d to memory", c, sb_addr[(c)*SB_DEPTH + k], sb_val[(c)*SB_DEPTH + k]);
#ifdef WEAK
    if :: rmw_owner[sb_addr[(c)*SB_DEPTH + k]] == (c) + 1 -> rmw_owner[sb_addr[(c)*SB_DEPTH + k]] = 0 :: else -> skip fi;
#endif
    if
    :: k == 0 && sb_len[c] > 1 ->
        sb_addr[(c)*SB_DEPTH] = sb_addr[(c)*SB_DEPTH+1];
        sb_val[(c)*SB_DEPTH] = sb_val[(c)*SB_DEPTH+1];
#ifdef WEAK
        sb_epoch[(c)*SB_DEPTH] = sb_epoch[(c)*SB_DEPTH+1];
#endif
    :: else -> skip
    fi;
    sb_len[c]--;
    sb_addr[(c)*SB_DEPTH + sb_len[c]] = 0; sb_val[(c)*SB_DEPTH + sb_len[c]] = 0;
#ifdef WEAK
    sb_epoch[(c)*SB_DEPTH + sb_len[c]] = 0;
#endif
    print_buffer(c)
}

#ifdef TABLE_READS
/* The walker's read of the last-level table it reached: the property. table_live and table_gen are
 * ghosts the freer sets at the instant it frees or reuses the table; held_gen[c] is the generation
 * the walker's pmd load returned (the pmd holds the generation of the table it points to). */
bool table_live = true;
byte table_gen = 1;
byte held_gen[NCPU];
inline perform_table_read(c) {
    if
    :: table_live && table_gen == held_gen[c] -> printf("CPU%d reads the table (gen %d): live\n", c, held_gen[c])
    :: else -> printf("CPU%d reads the table (gen %d): USE AFTER FREE (gen %d now, live %d)\n", c, held_gen[c], table_gen, table_live)
    fi;
    assert(table_live && table_gen == held_gen[c])
}
#endif

/* The value a load returns, and the table check when it is the table read. */
inline perform_load(c, a, v) {
    forwarded(c, a, v);
#ifdef TABLE_READS
    if :: (a) == table -> perform_table_read(c) :: else -> skip fi;
#endif
    skip
}

#ifdef WEAK
/* The buffer process of CPU c: commits buffered stores in any order allowed, performs pending loads. */
proctype Buffer(byte c) {
    byte v;
end:
    do
    :: atomic { sb_len[c] > 0 -> commit(c, 0) }
    :: atomic { sb_len[c] > 1 && sb_addr[c*SB_DEPTH+1] != sb_addr[c*SB_DEPTH] &&
                sb_epoch[c*SB_DEPTH+1] == sb_epoch[c*SB_DEPTH] -> commit(c, 1) }
    :: atomic { ld_pending[c*LOAD_SLOTS] -> perform_load(c, ld_addr[c*LOAD_SLOTS], v); ld_val[c*LOAD_SLOTS] = v;
                ld_pending[c*LOAD_SLOTS] = false; printf("CPU%d load %e performed: %d\n", c, ld_addr[c*LOAD_SLOTS], v); v = 0 }
    :: atomic { ld_pending[c*LOAD_SLOTS+1] -> perform_load(c, ld_addr[c*LOAD_SLOTS+1], v); ld_val[c*LOAD_SLOTS+1] = v;
                ld_pending[c*LOAD_SLOTS+1] = false; printf("CPU%d load %e performed: %d\n", c, ld_addr[c*LOAD_SLOTS+1], v); v = 0 }
    od
}

/* Issues a load into slot s; it is performed later by the buffer process, no later than USE. */
inline LOAD_ASYNC(c, s, a) {
    atomic {
        !PENDING_LOAD_OF(c, a) ->   /* loads of one location in program order */
        assert(!ld_pending[(c)*LOAD_SLOTS + s]);
        ld_addr[(c)*LOAD_SLOTS + s] = a; ld_pending[(c)*LOAD_SLOTS + s] = true;
        printf("CPU%d load %e issued\n", c, a)
    }
}
inline USE(c, s, r) {
    atomic { !ld_pending[(c)*LOAD_SLOTS + s] -> r = ld_val[(c)*LOAD_SLOTS + s]; ld_val[(c)*LOAD_SLOTS + s] = 0; ld_addr[(c)*LOAD_SLOTS + s] = 0 }
}
/* A load whose value is needed at once (a branch, an address): issue it and wait. */
inline LOAD(c, s, a, r) { LOAD_ASYNC(c, s, a); USE(c, s, r) }
inline SMP_MB(c) { atomic { DRAINED(c) -> printf("CPU%d smp_mb\n", c) } }
inline SMP_RMB(c) { atomic { NO_PENDING_LOADS(c) -> printf("CPU%d smp_rmb\n", c) } }
inline SMP_WMB(c) { atomic { wmb_epoch[c]++; printf("CPU%d smp_wmb\n", c) } }
/* A relaxed atomic add (no barrier implied): reads memory, its write waits in the buffer, and no
 * other CPU's RMW of the location runs until it commits. */
inline ATOMIC_ADD(c, a, d) {
    atomic {
        rmw_owner[a] == 0 && !PENDING_LOAD_OF(c, a) &&
        !(sb_len[c] > 0 && sb_addr[(c)*SB_DEPTH] == (a)) && !(sb_len[c] > 1 && sb_addr[(c)*SB_DEPTH+1] == (a)) ->
        rmw_owner[a] = (c) + 1;
        assert(sb_len[c] < SB_DEPTH);
        sb_addr[(c)*SB_DEPTH + sb_len[c]] = a;
        sb_val[(c)*SB_DEPTH + sb_len[c]] = mem[a] + (d);
        sb_epoch[(c)*SB_DEPTH + sb_len[c]] = wmb_epoch[c];
        sb_len[c]++;
        printf("CPU%d atomic add %e += %d (relaxed, buffered)", c, a, d); print_buffer(c)
    }
}
#else
proctype Buffer(byte c) {
end:
    do
    :: atomic { sb_len[c] > 0 -> commit(c, 0) }
    od
}
inline LOAD_ASYNC(c, s, a) {
    atomic { perform_load(c, a, ld_tso[(c)*LOAD_SLOTS + s]); printf("CPU%d load %e: %d", c, a, ld_tso[(c)*LOAD_SLOTS + s]); print_buffer(c) }
}
inline USE(c, s, r) { r = ld_tso[(c)*LOAD_SLOTS + s]; ld_tso[(c)*LOAD_SLOTS + s] = 0 }
inline LOAD(c, s, a, r) {
    atomic { perform_load(c, a, r); printf("CPU%d load %e: %d", c, a, r); print_buffer(c) }
}
byte ld_tso[NCPU * LOAD_SLOTS];
inline SMP_MB(c) { atomic { DRAINED(c) -> printf("CPU%d smp_mb (mfence)\n", c) } }
inline SMP_RMB(c) { skip }   /* x86: loads are not reordered with loads */
inline SMP_WMB(c) { skip }   /* x86: stores are not reordered with stores */
/* x86 lock add: a full barrier, the buffer drains first. */
inline ATOMIC_ADD(c, a, d) {
    atomic { sb_len[c] == 0 -> mem[a] = mem[a] + (d); printf("CPU%d lock add %e += %d -> %d (drains the buffer)\n", c, a, d, mem[a]) }
}
#endif

/* A locked/fully ordered RMW on both models (atomic_add_return, xchg): drains, then reads and writes memory. */
inline ATOMIC_ADD_MB(c, a, d) {
    atomic { DRAINED(c) -> mem[a] = mem[a] + (d); printf("CPU%d fully ordered add %e += %d -> %d\n", c, a, d, mem[a]) }
}
