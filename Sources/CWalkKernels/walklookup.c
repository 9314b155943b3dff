// LookupWalker in C: the reference the Swift lookup is compared with. Plain build.
#include "walk_common.h"

/// PageRefs.slot: frames hash onto 65536 counters.
static inline uint64_t wk_ref_slot(uint64_t frame) { return (frame * 0x9E3779B97F4A7C15ull) >> 48; }

static inline __attribute__((always_inline)) struct wk_result
wk_lookup_body(const struct wk_space *s, uint32_t *refs, uint64_t address, int take_ref,
               struct wk_oracle *oracle, const int with_oracle) {
    struct wk_result r = { 0, 0, 0, 0 };
    struct wk_log log = { oracle, 0, 0 };
    const uint64_t *table = wk_table(s, s->root);
    const uint64_t *parent = table;
    uint64_t parent_slot = 0;
    uint64_t parent_entry = 0;
    uint32_t level = 0;
    for (;;) {
        uint64_t slot = wk_index(s, address, level);
        uint64_t e = wk_load(table, slot);
        if (!wk_is_present(e)) {
            if (with_oracle && wk_unlikely(e == WK_POISON)) log.tainted = 1;
            break;  // absent
        }
        if (wk_is_leaf(e)) {
            // A huge leaf maps consecutive frames: add the page's offset inside it.
            uint64_t offset = (address >> s->page_shift) & ((1ull << (s->shifts[level] - s->page_shift)) - 1);
            uint64_t frame = wk_payload(e) + offset;
            if (!take_ref) {
                r.leaves = 1;
                r.frame_sum = frame;
                break;
            }
            uint32_t *count = &refs[wk_ref_slot(frame)];
            __atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);  // folio_try_get: fully ordered
            // gup_fast's re-check: the leaf and the entry that led to its table are unchanged.
            int still_same = wk_load(table, slot) == e && (level == 0 || wk_load(parent, parent_slot) == parent_entry);
            __atomic_fetch_sub(count, 1, __ATOMIC_RELEASE);  // folio_put
            if (still_same) {
                r.leaves = 1;
                r.frame_sum = frame;
            } else {
                r.retries = 1;
            }
            break;
        }
        // A table entry where only leaves can be: the table was freed and reused at another level.
        if (wk_unlikely(level + 1 == s->levels)) {
            if (with_oracle) log.tainted = 1;
            break;
        }
        uint32_t child = wk_table_index(e);
        if (with_oracle) {
            wk_log_followed(&log, s->generations, child, wk_generation(e));
            if (level + 2 == s->levels) wk_before_leaf_table(oracle);
        }
        parent = table;
        parent_slot = slot;
        parent_entry = e;
        table = wk_table(s, child);
        level++;
    }
    if (with_oracle) {
        wk_log_flush(&log, s->generations);
        r.read_freed = log.tainted;
    }
    return r;
}

struct wk_result wk_lookup(const struct wk_space *s, uint32_t *ref_counts, uint64_t address,
                           int32_t take_ref, struct wk_oracle *oracle) {
    if (oracle) return wk_lookup_body(s, ref_counts, address, take_ref, oracle, 1);
    return wk_lookup_body(s, ref_counts, address, take_ref, oracle, 0);
}
