// One instance of the callback walker's per-level loop (CallbackWalker.walkTable), included by
// walk_impl.h once per (WK_LOOP name, WK_ORACLE 0/1, WK_PROMOTE 0/1, WK_OPSET). No include guard on purpose.
//
// WK_OPSET (WK_OPS_*) says which hooks the ops table sets: at a level without a hook the loop descends
// a table itself and calls nothing (walk_pgd_range and friends when the pXd_entry is NULL); a huge
// leaf still goes to its level's hook. pte-entry takes the PTE lock around a table's pte loop.
//
// WK_PROMOTE 1 is INDIRECT_CALL_2 / INDIRECT_CALL_1 (include/linux/indirect_call_wrapper.h): compare
// the hook pointer with the known hooks and call the match directly; only a miss is an indirect call.

#if WK_PROMOTE && WK_OPSET == WK_OPS_PMD_ENTRY
#define WK_CALL_ENTRY(f, ...)                                                              \
    (wk_likely((f) == WK_NAME(count_pmd_range)) ? WK_NAME(count_pmd_range)(__VA_ARGS__)    \
     : wk_likely((f) == WK_NAME(count_pte_entry)) ? WK_NAME(count_pte_entry)(__VA_ARGS__)  \
     : (f)(__VA_ARGS__))
#define WK_CALL_HOLE(f, ...) \
    (wk_likely((f) == WK_NAME(count_pte_hole)) ? WK_NAME(count_pte_hole)(__VA_ARGS__) : (f)(__VA_ARGS__))
#elif WK_PROMOTE
#define WK_CALL_ENTRY(f, ...)                                                              \
    (wk_likely((f) == WK_NAME(count_pte_entry)) ? WK_NAME(count_pte_entry)(__VA_ARGS__)    \
     : wk_likely((f) == WK_NAME(count_pmd_entry)) ? WK_NAME(count_pmd_entry)(__VA_ARGS__)  \
     : (f)(__VA_ARGS__))
#define WK_CALL_HOLE(f, ...) \
    (wk_likely((f) == WK_NAME(count_pte_hole)) ? WK_NAME(count_pte_hole)(__VA_ARGS__) : (f)(__VA_ARGS__))
#else
#define WK_CALL_ENTRY(f, ...) ((f)(__VA_ARGS__))
#define WK_CALL_HOLE(f, ...) ((f)(__VA_ARGS__))
#endif

static void WK_NAME(WK_CAT(walk_table_, WK_LOOP))(struct WK_NAME(walk) *w, uint32_t t, uint32_t level,
                                                  uint64_t start, uint64_t end) {
    const struct wk_space *s = w->s;
    const uint64_t coverage = 1ull << s->shifts[level];
    const int kind = s->kind_of_level[level];
    const wk_entry_fn entry = w->entry_of_kind[kind];
    const uint64_t *table = wk_table(s, t);
    // Which levels call a hook for every entry: all (every-entry), pmd (pmd-entry), pte (pte-entry).
    const int hooked = WK_OPSET == WK_OPS_EVERY_ENTRY || (WK_OPSET == WK_OPS_PMD_ENTRY ? kind == WK_PMD : kind == WK_PTE);
    const int locked = WK_OPSET == WK_OPS_PTE_ENTRY && kind == WK_PTE;
    if (locked) wk_pte_lock(s->pte_locks, t);  // walk_pte_range's pte_offset_map_lock
    uint64_t addr = start;
    uint64_t slot = wk_index(s, addr, level);
    do {
        uint64_t next = (addr & ~(coverage - 1)) + coverage;  // pXd_addr_end
        if (next > end) next = end;
        uint64_t e = wk_load(table, slot);
        int again = 0;
        for (;;) {
            if (kind == WK_PTE && wk_unlikely(wk_is_table(e))) {
                // A table entry where only ptes can be: the table was freed and reused higher up.
                if (WK_ORACLE) w->log.tainted = 1;
                break;
            }
            if (!hooked) {
                // No hook here: descend a table, hand a huge leaf to its level's hook, skip a hole.
                if (wk_is_table(e)) {
                    uint32_t child = wk_table_index(e);
                    if (WK_ORACLE) wk_log_followed(&w->log, s->generations, child, wk_generation(e));
                    if (WK_ORACLE && level + 2 == s->levels) wk_before_leaf_table(w->log.o);
                    WK_NAME(WK_CAT(walk_table_, WK_LOOP))(w, child, level + 1, addr, next);
                } else if (wk_is_present(e)) {
                    (void)WK_CALL_ENTRY(entry, w->priv, e, addr, next);
                } else if (WK_ORACLE && wk_unlikely(e == WK_POISON)) {
                    w->log.tainted = 1;
                }
                break;
            }
            if (WK_OPSET == WK_OPS_PMD_ENTRY && kind == WK_PMD && wk_is_table(e)) {
                // The pmd_entry maps and reads the PTE table itself: log it first, as a descent would.
                uint32_t child = wk_table_index(e);
                if (WK_ORACLE) wk_log_followed(&w->log, s->generations, child, wk_generation(e));
                if (WK_ORACLE && level + 2 == s->levels) wk_before_leaf_table(w->log.o);
                (void)WK_CALL_ENTRY(entry, w->priv, e, addr, next);
                break;
            }
            if (!wk_is_present(e)) {
                if (WK_ORACLE && wk_unlikely(e == WK_POISON)) w->log.tainted = 1;
                // walk_pte_range calls pte_entry for every pte; above, a hole goes to pte_hole.
                if (kind == WK_PTE) (void)WK_CALL_ENTRY(entry, w->priv, e, addr, next);
                else WK_CALL_HOLE(w->hole, w->priv, addr, next, kind);
                break;
            }
            int action = WK_CALL_ENTRY(entry, w->priv, e, addr, next);
            if (action == WK_AGAIN && again < 3) {  // ACTION_AGAIN: re-read the entry (bounded)
                again++;
                e = wk_load(table, slot);
                continue;
            }
            if (action == WK_DESCEND && wk_is_table(e)) {  // ACTION_SUBTREE
                uint32_t child = wk_table_index(e);
                if (WK_ORACLE) wk_log_followed(&w->log, s->generations, child, wk_generation(e));
                if (WK_ORACLE && level + 2 == s->levels) wk_before_leaf_table(w->log.o);
                WK_NAME(WK_CAT(walk_table_, WK_LOOP))(w, child, level + 1, addr, next);
            }
            break;  // ACTION_CONTINUE
        }
        addr = next;
        slot++;
    } while (addr < end);
    if (locked) wk_pte_unlock(s->pte_locks, t);
}

#undef WK_CALL_ENTRY
#undef WK_CALL_HOLE
#undef WK_LOOP
#undef WK_ORACLE
#undef WK_PROMOTE
#undef WK_OPSET
