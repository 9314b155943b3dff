/*
 * The data-page protocol: gup_fast against a THP collapse (khugepaged) that frees the small page the
 * walker's pte maps and reuses its frame as the new huge folio's head.
 *
 * A page's refcount is memory (count); the pte's mapping holds one reference. The walker (CPU1,
 * gup_fast, interrupts masked across the walk: local_irq_save) loads the pmd; if it links the PTE
 * table, it loads the pte (address-dependent), which maps generation 1 of the frame; if it is the huge
 * leaf the collapse installed, the leaf itself maps the new folio. Then @leaf-read: it holds no
 * reference yet. It try-gets the folio (atomic_add_unless(count, 1, 0): fails on 0, a freed or frozen
 * page; fully ordered on success), re-checks that the pte and the pmd above it are unchanged (if not,
 * it puts the reference and falls back to the slow path: one attempt here), hands the page to its
 * caller, closes the window and later puts its reference (atomic_dec_and_test, fully ordered).
 *
 * The collapser (CPU0) clears the pmd, flushes (pmdp_collapse_flush), freezes the page's count at the
 * one reference its mapping holds (page_ref_freeze: cmpxchg 1 -> 0, fully ordered; it fails if the
 * walker holds an extra reference, and then the collapse is refused and the pmd restored), frees the
 * frozen page (the frame's generation moves to 2), allocates the new folio on the same frame (count 1,
 * a plain store: set_page_refcount) and installs the huge leaf (smp_wmb, then the pmd store). The
 * PTE table is not touched: its ptes stay as they were until the table itself is freed (pte_free_defer,
 * after a grace period: the table models' business, not this one's; here it is never freed).
 *
 * The property, at the hand-over: the generation of the page the walker holds a reference on (read in
 * the same atomic step as its try-get) equals the generation its pte (or huge leaf) mapped.
 *
 * Variants:
 *   (default)      the flush IPIs the walker's CPU and waits for the ack, which a CPU with interrupts
 *                  masked cannot give (x86's shootdown; powerpc radix's serialize_against_pte_lookup
 *                  in pmdp_collapse_flush);
 *   -DBROADCAST    the flush interrupts no one (arm64's broadcast TLBI, x86's INVLPGB, walkbench's RCU
 *                  strategies): nothing holds the collapse back, only the re-check protects the walker;
 *   -DNO_RECHECK   no re-check after the try-get (lookup-no-recheck): safe with the IPI, broken without;
 *   -DPTE_RECHECK  the re-check reads the pte only, not the pmd (gup_fast before 70cbc3cc78a9 "mm:
 *                  gup: fix the fast GUP race against THP collapse", 2022): the collapse leaves the pte
 *                  as it was, so this re-check passes; broken without the IPI. (The same series,
 *                  bedf03416913, then dropped powerpc radix's serialize IPI from pmdp_collapse_flush:
 *                  with the pmd re-check, radix is the -DBROADCAST variant.)
 * Memory models: TSO and WEAK. The IPI variants: x86's shootdown under TSO, powerpc's serialize IPI
 * (walkbench's ppc strategies) under WEAK, with memory.pml's caveat that WEAK is other-multi-copy
 * atomic and POWER is not. The broadcast variants: x86 with INVLPGB under TSO, arm64 under WEAK.
 * The try-get is fully ordered in every variant: memory.pml performs an RMW's read when it is issued
 * (it does not model speculating it), so a relaxed try-get, whose read arm64 may satisfy after the
 * re-check's loads, would verify here for a reason the model assumes; it is not a variant.
 */
#define NCPU 2
mtype = { pmd, pte, count };
#define MEMSIZE 4
#include "memory.pml"

#define TABLE 1        /* pmd value: links the PTE table */
#define HUGE 10        /* pmd value HUGE + g: a huge leaf mapping the folio of generation g */

byte page_gen = 1;     /* ghost: the generation of the frame's current allocation; bumped when freed */

/* Interrupts of the walker's CPU, as protocol.pml's (soft mask, pending IPI, ack when unmasked and
 * everything before is visible), for the one CPU the collapser can interrupt. */
bool irq_off[NCPU];
bool ipi_pending[NCPU];
inline IRQ_DISABLE(c) { atomic { irq_off[c] = true; printf("CPU%d local_irq_disable\n", c) } }
inline IRQ_ENABLE(c) { atomic { irq_off[c] = false; printf("CPU%d local_irq_enable\n", c) } }
proctype Interrupts(byte c) {
end:
    do
    :: atomic { ipi_pending[c] && !irq_off[c] && DRAINED(c) -> ipi_pending[c] = false; printf("CPU%d takes the IPI and acks it\n", c) }
    od
}

#ifdef WEAK
#define RMW_FREE(a) (rmw_owner[a] == 0)
#else
#define RMW_FREE(a) true
#endif

/* folio_try_get: atomic_add_unless(count, 1, 0), fully ordered; held is the generation it got. */
inline try_get(c, got, held) {
    atomic {
        DRAINED(c) && RMW_FREE(count) ->
        if
        :: mem[count] == 0 -> got = false; printf("CPU%d try-get fails: count 0 (free or frozen)\n", c)
        :: else -> mem[count] = mem[count] + 1; got = true; held = page_gen;
                   printf("CPU%d try-get: count %d, gen %d\n", c, mem[count], held)
        fi
    }
}

/* folio_put: atomic_dec_and_test, fully ordered; the last reference frees the page. */
inline put(c) {
    atomic {
        DRAINED(c) && RMW_FREE(count) ->
        mem[count] = mem[count] - 1;
        printf("CPU%d put: count %d\n", c, mem[count]);
        if :: mem[count] == 0 -> page_gen++; printf("CPU%d frees the page (gen %d now)\n", c, page_gen) :: else -> skip fi
    }
}

proctype Walker(byte c) {
    byte p, e, mapped, held, p2, e2;
    bool got;
    IRQ_DISABLE(c);
    printf("CPU%d @window-open\n", c);
    LOAD(c, 0, pmd, p);
    printf("CPU%d @leaf-pointer-loaded (pmd=%d)\n", c, p);
    if
    :: p == 0 -> printf("CPU%d pmd none: falls back to the slow path\n", c); goto closing
    :: p == TABLE ->
        printf("CPU%d @leaf-table-next\n", c);
        LOAD(c, 0, pte, e);   /* address-dependent on p */
        mapped = e
    :: p > HUGE -> mapped = p - HUGE
    fi;
    printf("CPU%d @leaf-read (maps gen %d)\n", c, mapped);
    try_get(c, got, held);
    if
    :: !got -> printf("CPU%d falls back to the slow path\n", c); goto closing
    :: else -> skip
    fi;
#ifndef NO_RECHECK
    /* gup_fast's re-check: the leaf, and (for a pte) the pmd that led to its table. */
    if
    :: p == TABLE ->
        LOAD_ASYNC(c, 0, pte);
#ifndef PTE_RECHECK
        LOAD_ASYNC(c, 1, pmd);
        USE(c, 1, p2);
#else
        p2 = p;
#endif
        USE(c, 0, e2)
    :: else -> LOAD(c, 0, pmd, p2); e2 = e
    fi;
    if
    :: p2 != p || e2 != e ->
        printf("CPU%d re-check: changed (pmd=%d pte=%d): puts the page, falls back\n", c, p2, e2);
        put(c); got = false; goto closing
    :: else -> printf("CPU%d re-check: unchanged\n", c)
    fi;
#endif
    atomic {
        if
        :: held == mapped -> printf("CPU%d hands over the page (gen %d, as mapped)\n", c, held)
        :: else -> printf("CPU%d hands over the page: USE AFTER FREE (holds gen %d, its pte mapped gen %d)\n", c, held, mapped)
        fi;
        assert(held == mapped)
    }
closing:
    printf("CPU%d @window-closing\n", c);
    IRQ_ENABLE(c);
    if :: got -> put(c) :: else -> skip fi
}

proctype Collapser(byte c) {
    bool frozen;
    STORE(c, pmd, 0);
    printf("CPU%d @unlinked: pmd cleared (collapse)\n", c);
    printf("CPU%d @free-started: pmdp_collapse_flush\n", c);
    SMP_MB(c);
#ifdef BROADCAST
    printf("CPU%d broadcast invalidation: no CPU is interrupted\n", c);
#else
    atomic { ipi_pending[1] = true; printf("CPU%d sends the IPI to CPU1 and waits\n", c) }
    !ipi_pending[1];
    printf("CPU%d has the ack\n", c);
#endif
    atomic {
        DRAINED(c) && RMW_FREE(count) ->
        if
        :: mem[count] == 1 -> mem[count] = 0; frozen = true; printf("CPU%d freezes the page (count 1 -> 0)\n", c)
        :: else -> frozen = false; printf("CPU%d cannot freeze: count %d (a walker's reference)\n", c, mem[count])
        fi
    }
    if
    :: frozen ->
        atomic { page_gen++; printf("CPU%d @freed: the small page (gen %d now)\n", c, page_gen) }
        STORE(c, count, 1);   /* the new folio, head on the same frame: set_page_refcount(1) */
        printf("CPU%d allocates the new folio on the frame (gen %d)\n", c, page_gen);
        SMP_WMB(c);
        STORE(c, pmd, HUGE + page_gen)
    :: else ->
        printf("CPU%d collapse refused: restores the pmd\n", c);
        SMP_WMB(c);
        STORE(c, pmd, TABLE)
    fi
}

init {
    atomic {
        mem[pmd] = TABLE; mem[pte] = page_gen; mem[count] = 1;
        run Buffer(0); run Buffer(1); run Interrupts(1);
        run Collapser(0); run Walker(1)
    }
}
