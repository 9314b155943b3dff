// wk_space_init: the C walks' copy of TableMemory, LevelMath and the root.
#include "walkkernels.h"

void wk_space_init(struct wk_space *s, void *entries, void *generations, uint64_t slot_entries,
                   uint64_t page_shift, uint32_t root, uint32_t levels,
                   const uint64_t *shifts, const uint64_t *masks, uint32_t *pte_locks) {
    s->entries = entries;
    s->generations = generations;
    s->slot_entries = slot_entries;
    s->page_shift = page_shift;
    s->root = root;
    s->levels = levels;
    s->pte_locks = pte_locks;
    for (int k = 0; k < 5; k++) {
        s->shifts[k] = 0;
        s->masks[k] = 0;
        s->kind_of_level[k] = WK_PTE;
        s->shift_of_kind[k] = page_shift;  // CountingOps: folded kinds keep the page shift
    }
    for (uint32_t i = 0; i < levels && i < 5; i++) {
        s->shifts[i] = shifts[i];
        s->masks[i] = masks[i];
        // Levels are named from the bottom: pte is the last, then pmd, pud, p4d, pgd.
        s->kind_of_level[i] = (int32_t)(5 - levels + i);
        s->shift_of_kind[5 - levels + i] = shifts[i];
    }
}
