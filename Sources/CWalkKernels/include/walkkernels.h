// The C walk kernels: the callback walker (walk_page_range's shape) and the lookup walker over the
// same table memory as the Swift walkers (TablePool's entries and generations, read in place).
//
// One source, two builds: walk_impl.h (next to this target's sources, not public) is compiled once
// here (CWalkKernels, names wk_plain_*) and once in CWalkKernelsRetpoline with clang -mretpoline
// (names wk_retp_*). The types below are shared by both, so Swift sees one wk_space, one wk_ops.
#ifndef WALKKERNELS_H
#define WALKKERNELS_H

#include <stdint.h>

/// What a walk needs to know about the page table: TableMemory, LevelMath and the root, flattened.
/// Filled once per walker by wk_space_init; read-only during walks.
struct wk_space {
    /// TableMemory.entries: slot_entries entries per table page, read with relaxed atomic loads.
    uint64_t *entries;
    /// TableMemory.generations: bumped when a table is freed (the oracle's clock).
    uint32_t *generations;
    uint64_t slot_entries;
    uint64_t page_shift;
    uint32_t root;
    /// Number of levels, 1...5, top (index 0) to bottom.
    uint32_t levels;
    /// LevelMath.shifts / masks, by level from the top.
    uint64_t shifts[5];
    uint64_t masks[5];
    /// Which hook a level calls (WK_PGD...WK_PTE): levels are named from the bottom, as CallbackWalker.
    int32_t kind_of_level[5];
    /// Each kernel level's shift (PMD_SHIFT and friends), by hook kind; page_shift for folded kinds.
    uint64_t shift_of_kind[5];
    /// PTELocks: one spinlock word per table slot (pte_offset_map_lock), 0 free, 1 held.
    uint32_t *pte_locks;
};

/// Which hooks an ops table sets (CallbackOpsSet): every level's entry hook; pmd_entry alone, which
/// loops the PTEs itself under the PTE lock (smaps, pagemap); pte_entry alone, called per pte under
/// the PTE lock the walker takes (walk_pte_range). A huge leaf above the PTE level goes to its
/// level's entry hook in every set.
enum { WK_OPS_EVERY_ENTRY = 0, WK_OPS_PMD_ENTRY = 1, WK_OPS_PTE_ENTRY = 2 };

/// The kernel's level names (WalkLevel), which pick the hook; also pte_hole's depth argument.
enum { WK_PGD = 0, WK_P4D = 1, WK_PUD = 2, WK_PMD = 3, WK_PTE = 4 };
/// enum page_walk_action (WalkAction).
enum { WK_DESCEND = 0, WK_SKIP = 1, WK_AGAIN = 2 };

/// struct mm_walk_ops: one entry hook per level and the hole hook. priv is the walk's private state.
typedef int (*wk_entry_fn)(void *priv, uint64_t entry, uint64_t addr, uint64_t next);
typedef void (*wk_hole_fn)(void *priv, uint64_t addr, uint64_t next, int depth);
struct wk_ops {
    wk_entry_fn pgd_entry;
    wk_entry_fn p4d_entry;
    wk_entry_fn pud_entry;
    wk_entry_fn pmd_entry;
    wk_entry_fn pte_entry;
    wk_hole_fn pte_hole;
};

/// The oracle log of one walk (OracleOn): a buffer of (table << 32 | generation) records, flushed
/// (checked) when full and at the end of the walk. Its presence turns the oracle on.
struct wk_oracle {
    uint64_t *records;
    uint64_t capacity;
    /// Validation's injected delay before a last-level table is read (Window.beforeLeafTable), in
    /// ticks of the runner's clock: TSC ticks if delay_tsc, else CLOCK_MONOTONIC nanoseconds. 0: none.
    uint64_t delay_ticks;
    int32_t delay_tsc;
};

/// WalkResult, plus what the oracle saw.
struct wk_result {
    uint64_t leaves;
    uint64_t frame_sum;
    uint64_t retries;
    /// The oracle saw a freed table (a moved generation or a poisoned read). Always 0 without oracle.
    int32_t read_freed;
    /// The oracle saw the walk take a page of another generation than its leaf mapped. 0 without oracle.
    int32_t read_freed_page;
    /// The folio whose reference the walk holds for its caller (head frame + 1; 0: none), and whether
    /// it is a small folio (how FOLL_PIN counted it).
    uint64_t held_folio;
    int32_t held_small;
};

/// Fills `s` from the geometry (`levels` shifts and masks, top first) and the pool.
void wk_space_init(struct wk_space *s, void *entries, void *generations, uint64_t slot_entries,
                   uint64_t page_shift, uint32_t root, uint32_t levels,
                   const uint64_t *shifts, const uint64_t *masks, uint32_t *pte_locks);

// ---- The plain build (no retpoline): indirect calls are `call *reg`. ----

/// The counting hooks of this build (CountingOps) for an ops set (WK_OPS_*): priv must be what the
/// walk functions set up. `ops_set` of the walk must be the one the table was fetched for.
const struct wk_ops *wk_plain_counting_ops(int32_t ops_set);
/// Walks [start, end) calling `ops` for every entry, counting pages and summing frames with the
/// counting hooks' private state. `oracle` NULL: oracle off (nothing logged, no delay).
struct wk_result wk_plain_callback_walk(const struct wk_space *s, const struct wk_ops *ops,
                                        uint64_t start, uint64_t end, struct wk_oracle *oracle, int32_t ops_set);
/// The same walk, each hook call first compared with the counting hooks and called directly when
/// equal (INDIRECT_CALL_2 for entries, INDIRECT_CALL_1 for holes).
struct wk_result wk_plain_callback_walk_promoted(const struct wk_space *s, const struct wk_ops *ops,
                                                 uint64_t start, uint64_t end, struct wk_oracle *oracle, int32_t ops_set);

// ---- The lookup reference (plain build only). ----

/// PageFrames as C sees it: the section directory (each slot 0 or the address of 2^18 words of
/// [generation 32][refcount 32]) and its slot mask.
struct wk_pages {
    uint64_t *directory;
    uint64_t slot_mask;
};

/// LookupWalker in C: one address, each level once, stop at the first leaf; with take_ref, try-get
/// the page's folio (fails on a zero count) and re-check the leaf and the entry above it; the
/// reference is handed back in held_folio for wk_release_folio after the window. `pin`: FOLL_PIN.
/// `oracle` NULL: oracle off.
struct wk_result wk_lookup(const struct wk_space *s, const struct wk_pages *pages, uint64_t address,
                           int32_t take_ref, int32_t pin, struct wk_oracle *oracle);
/// Drops the reference wk_lookup handed over (folio_put / unpin).
void wk_release_folio(const struct wk_pages *pages, uint64_t head, int32_t small, int32_t pin);

#endif
