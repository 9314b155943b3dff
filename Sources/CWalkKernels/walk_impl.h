// The callback walker in C (CallbackWalker.swift's walk, walk_page_range's shape) and its counting
// hooks (CountingOps). Compiled twice from this one file:
//   CWalkKernels/walkkernels.c                    WK_PREFIX wk_plain_   plain: hook calls are `call *reg`
//   CWalkKernelsRetpoline/walkkernels_retpoline.c WK_PREFIX wk_retp_    clang -mretpoline: every hook
//                                                                       call goes through __llvm_retpoline_*
// Every name with external or symbol-table visibility carries the prefix, so the two copies link side
// by side and the disassembly of one can be told from the other.
#ifndef WK_PREFIX
#error "define WK_PREFIX (the name prefix of this build) before including walk_impl.h"
#endif

#include "walk_common.h"

#define WK_CAT_(a, b) a##b
#define WK_CAT(a, b) WK_CAT_(a, b)
#define WK_NAME(n) WK_CAT(WK_PREFIX, n)

// ---- The work: CountingOps as C hooks. ----

/// The hooks' private state (CountingOps): the result so far and each kernel level's shift.
struct WK_NAME(count) {
    uint64_t leaves;
    uint64_t frame_sum;
    uint64_t page_shift;
    const uint64_t *shift_of_kind;
    /// The tables, for the pmd_entry that loops its PTEs itself.
    const struct wk_space *s;
};

/// WalkResult.addLeaf: the pages of a leaf mapping from entry_start, clipped to [from, to).
static inline void WK_NAME(add_leaf)(struct WK_NAME(count) *c, uint64_t e, uint64_t entry_start, uint64_t from, uint64_t to) {
    uint64_t first = wk_payload(e) + ((from - entry_start) >> c->page_shift);
    uint64_t pages = (to - from) >> c->page_shift;
    c->leaves += pages;
    c->frame_sum += pages * first + (pages * (pages - 1)) / 2;
}

/// CountingOps.upperEntry: a table says descend; a huge leaf adds its pages in [addr, next).
static inline int WK_NAME(count_upper)(void *priv, uint64_t e, uint64_t addr, uint64_t next, int kind) {
    struct WK_NAME(count) *c = priv;
    if (wk_is_table(e)) return WK_DESCEND;
    if (wk_is_present(e)) {
        uint64_t entry_start = addr & ~((1ull << c->shift_of_kind[kind]) - 1);
        WK_NAME(add_leaf)(c, e, entry_start, addr, next);
    }
    return WK_SKIP;
}

// The hooks are noinline: a promoted call is then a compare and a direct call, as INDIRECT_CALL_n's
// is in the kernel, where the hooks live in another translation unit; not the hook inlined.
__attribute__((noinline)) static int WK_NAME(count_pgd_entry)(void *priv, uint64_t e, uint64_t addr, uint64_t next) {
    return WK_NAME(count_upper)(priv, e, addr, next, WK_PGD);
}
__attribute__((noinline)) static int WK_NAME(count_p4d_entry)(void *priv, uint64_t e, uint64_t addr, uint64_t next) {
    return WK_NAME(count_upper)(priv, e, addr, next, WK_P4D);
}
__attribute__((noinline)) static int WK_NAME(count_pud_entry)(void *priv, uint64_t e, uint64_t addr, uint64_t next) {
    return WK_NAME(count_upper)(priv, e, addr, next, WK_PUD);
}
__attribute__((noinline)) static int WK_NAME(count_pmd_entry)(void *priv, uint64_t e, uint64_t addr, uint64_t next) {
    return WK_NAME(count_upper)(priv, e, addr, next, WK_PMD);
}
/// CountingOps.pteEntry: called for every pte in range, present or not.
__attribute__((noinline)) static int WK_NAME(count_pte_entry)(void *priv, uint64_t e, uint64_t addr, uint64_t next) {
    if (wk_is_present(e)) WK_NAME(add_leaf)(priv, e, addr, addr, next);
    return WK_SKIP;
}
/// The pmd_entry of the pmd-entry ops set (smaps_pte_range's shape): a huge leaf counts as any; a
/// table is mapped and locked (pte_offset_map_lock), its ptes in [addr, next) counted in a loop inside
/// the hook, and unlocked. One hook call per PMD instead of one per pte.
__attribute__((noinline)) static int WK_NAME(count_pmd_range)(void *priv, uint64_t e, uint64_t addr, uint64_t next) {
    struct WK_NAME(count) *c = priv;
    if (!wk_is_table(e)) return WK_NAME(count_upper)(priv, e, addr, next, WK_PMD);
    const struct wk_space *s = c->s;
    const uint32_t t = wk_table_index(e);
    const uint32_t last = s->levels - 1;
    const uint64_t *table = wk_table(s, t);
    const uint64_t page = 1ull << s->page_shift;
    wk_pte_lock(s->pte_locks, t);
    uint64_t slot = wk_index(s, addr, last);
    for (uint64_t a = addr; a < next; a += page, slot++) {
        uint64_t pte = wk_load(table, slot);
        if (wk_is_present(pte) && !wk_is_table(pte)) WK_NAME(add_leaf)(c, pte, a, a, a + page);
    }
    wk_pte_unlock(s->pte_locks, t);
    return WK_SKIP;
}

/// pte_hole: nothing mapped there, nothing to count.
__attribute__((noinline)) static void WK_NAME(count_pte_hole)(void *priv, uint64_t addr, uint64_t next, int depth) {
    (void)priv; (void)addr; (void)next; (void)depth;
    __asm__ __volatile__("");  // keep it a real function body (an empty one may be merged or folded)
}

static const struct wk_ops WK_NAME(counting) = {
    .pgd_entry = WK_NAME(count_pgd_entry),
    .p4d_entry = WK_NAME(count_p4d_entry),
    .pud_entry = WK_NAME(count_pud_entry),
    .pmd_entry = WK_NAME(count_pmd_entry),
    .pte_entry = WK_NAME(count_pte_entry),
    .pte_hole = WK_NAME(count_pte_hole),
};

/// The pmd-entry ops set: pmd_entry loops the PTEs; the upper hooks stay for huge leaves.
static const struct wk_ops WK_NAME(counting_pmd_range) = {
    .pgd_entry = WK_NAME(count_pgd_entry),
    .p4d_entry = WK_NAME(count_p4d_entry),
    .pud_entry = WK_NAME(count_pud_entry),
    .pmd_entry = WK_NAME(count_pmd_range),
    .pte_entry = WK_NAME(count_pte_entry),
    .pte_hole = WK_NAME(count_pte_hole),
};

// Out of line and handed to Swift, which passes it back on each walk: the walk functions never see
// which table they are given, so the compiler cannot turn the indirect calls into direct ones.
const struct wk_ops *WK_NAME(counting_ops)(int32_t ops_set) {
    return ops_set == WK_OPS_PMD_ENTRY ? &WK_NAME(counting_pmd_range) : &WK_NAME(counting);
}

// ---- The walker. ----

/// One walk's state: the tables, the hook of each kind (read from the ops table once per walk), the
/// hooks' private state, and the oracle log.
struct WK_NAME(walk) {
    const struct wk_space *s;
    wk_entry_fn entry_of_kind[5];
    wk_hole_fn hole;
    void *priv;
    struct wk_log log;
};

// The per-level loop, once per (call style, oracle, ops set), each specialised at compile time as the
// Swift walk loop is specialised on its Window and ops set types.
#define WK_LOOP indirect_off_every
#define WK_ORACLE 0
#define WK_PROMOTE 0
#define WK_OPSET 0
#include "walk_loop.h"
#define WK_LOOP indirect_off_pmd
#define WK_ORACLE 0
#define WK_PROMOTE 0
#define WK_OPSET 1
#include "walk_loop.h"
#define WK_LOOP indirect_off_pte
#define WK_ORACLE 0
#define WK_PROMOTE 0
#define WK_OPSET 2
#include "walk_loop.h"
#define WK_LOOP indirect_on_every
#define WK_ORACLE 1
#define WK_PROMOTE 0
#define WK_OPSET 0
#include "walk_loop.h"
#define WK_LOOP indirect_on_pmd
#define WK_ORACLE 1
#define WK_PROMOTE 0
#define WK_OPSET 1
#include "walk_loop.h"
#define WK_LOOP indirect_on_pte
#define WK_ORACLE 1
#define WK_PROMOTE 0
#define WK_OPSET 2
#include "walk_loop.h"
#define WK_LOOP promoted_off_every
#define WK_ORACLE 0
#define WK_PROMOTE 1
#define WK_OPSET 0
#include "walk_loop.h"
#define WK_LOOP promoted_off_pmd
#define WK_ORACLE 0
#define WK_PROMOTE 1
#define WK_OPSET 1
#include "walk_loop.h"
#define WK_LOOP promoted_off_pte
#define WK_ORACLE 0
#define WK_PROMOTE 1
#define WK_OPSET 2
#include "walk_loop.h"
#define WK_LOOP promoted_on_every
#define WK_ORACLE 1
#define WK_PROMOTE 1
#define WK_OPSET 0
#include "walk_loop.h"
#define WK_LOOP promoted_on_pmd
#define WK_ORACLE 1
#define WK_PROMOTE 1
#define WK_OPSET 1
#include "walk_loop.h"
#define WK_LOOP promoted_on_pte
#define WK_ORACLE 1
#define WK_PROMOTE 1
#define WK_OPSET 2
#include "walk_loop.h"

static inline void WK_NAME(walk_begin)(struct WK_NAME(walk) *w, struct WK_NAME(count) *c, const struct wk_space *s,
                                       const struct wk_ops *ops, struct wk_oracle *oracle) {
    c->leaves = 0;
    c->frame_sum = 0;
    c->page_shift = s->page_shift;
    c->shift_of_kind = s->shift_of_kind;
    c->s = s;
    w->s = s;
    w->entry_of_kind[WK_PGD] = ops->pgd_entry;
    w->entry_of_kind[WK_P4D] = ops->p4d_entry;
    w->entry_of_kind[WK_PUD] = ops->pud_entry;
    w->entry_of_kind[WK_PMD] = ops->pmd_entry;
    w->entry_of_kind[WK_PTE] = ops->pte_entry;
    w->hole = ops->pte_hole;
    w->priv = c;
    w->log.o = oracle;
    w->log.count = 0;
    w->log.tainted = 0;
}

static inline struct wk_result WK_NAME(walk_end)(struct WK_NAME(walk) *w, struct WK_NAME(count) *c) {
    // The oracle's check, after the walk's last table read and before the caller's window closes.
    if (w->log.o) wk_log_flush(&w->log, w->s->generations);
    struct wk_result r = { .leaves = c->leaves, .frame_sum = c->frame_sum, .retries = 0, .read_freed = w->log.tainted };
    return r;
}

// One walk function per call style; the ops set and the oracle pick the loop.
#define WK_WALK_LOOP(style, on, ops) WK_NAME(walk_table_##style##_##on##_##ops)
#define WK_DISPATCH_LOOP(style)                                                                        \
    switch (ops_set) {                                                                                 \
    case WK_OPS_PMD_ENTRY:                                                                             \
        if (oracle) WK_WALK_LOOP(style, on, pmd)(&w, s->root, 0, start, end);                          \
        else WK_WALK_LOOP(style, off, pmd)(&w, s->root, 0, start, end);                                \
        break;                                                                                         \
    case WK_OPS_PTE_ENTRY:                                                                             \
        if (oracle) WK_WALK_LOOP(style, on, pte)(&w, s->root, 0, start, end);                          \
        else WK_WALK_LOOP(style, off, pte)(&w, s->root, 0, start, end);                                \
        break;                                                                                         \
    default:                                                                                           \
        if (oracle) WK_WALK_LOOP(style, on, every)(&w, s->root, 0, start, end);                        \
        else WK_WALK_LOOP(style, off, every)(&w, s->root, 0, start, end);                              \
    }

struct wk_result WK_NAME(callback_walk)(const struct wk_space *s, const struct wk_ops *ops,
                                        uint64_t start, uint64_t end, struct wk_oracle *oracle, int32_t ops_set) {
    struct WK_NAME(count) c;
    struct WK_NAME(walk) w;
    WK_NAME(walk_begin)(&w, &c, s, ops, oracle);
    WK_DISPATCH_LOOP(indirect)
    return WK_NAME(walk_end)(&w, &c);
}

struct wk_result WK_NAME(callback_walk_promoted)(const struct wk_space *s, const struct wk_ops *ops,
                                                 uint64_t start, uint64_t end, struct wk_oracle *oracle, int32_t ops_set) {
    struct WK_NAME(count) c;
    struct WK_NAME(walk) w;
    WK_NAME(walk_begin)(&w, &c, s, ops, oracle);
    WK_DISPATCH_LOOP(promoted)
    return WK_NAME(walk_end)(&w, &c);
}
