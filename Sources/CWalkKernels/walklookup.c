// LookupWalker in C: the reference the Swift lookup is compared with. Plain build.
#include "walk_common.h"

#define WK_PIN_BIAS 1024u  // PageFrames.pinBias (GUP_PIN_COUNTING_BIAS)
#define WK_SECTION_SHIFT 18  // PageFrames.sectionShift
#define WK_FOLIO_ORDER_MASK 0x1Full

/// PageWords.word: the frame's word, or NULL where its section was never mapped.
static inline uint64_t *wk_page_word(const struct wk_pages *p, uint64_t frame) {
    uint64_t section = __atomic_load_n(&p->directory[(frame >> WK_SECTION_SHIFT) & p->slot_mask], __ATOMIC_ACQUIRE);
    if (wk_unlikely(section == 0)) return 0;
    return (uint64_t *)section + (frame & ((1ull << WK_SECTION_SHIFT) - 1));
}

/// PageWords.tryGet: add refs unless the count is zero; the generation at that moment, or -1.
static inline int64_t wk_try_get(const struct wk_pages *p, uint64_t head, uint32_t refs) {
    uint64_t *w = wk_page_word(p, head);
    if (!w) return -1;
    uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
    do {
        if ((uint32_t)old == 0) return -1;
    } while (!__atomic_compare_exchange_n(w, &old, old + refs, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return (int64_t)(old >> 32);
}

/// PageWords.put: drop refs; the last frees the page and bumps its generation in the same step.
static inline void wk_put(const struct wk_pages *p, uint64_t head, uint32_t refs) {
    uint64_t *w = wk_page_word(p, head);
    uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED), next;
    do {
        next = (uint32_t)old == refs ? ((old >> 32) + 1) << 32 : old - refs;
    } while (!__atomic_compare_exchange_n(w, &old, next, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void wk_release_folio(const struct wk_pages *p, uint64_t head, int32_t small, int32_t pin) {
    if (pin && !small) __atomic_fetch_sub(wk_page_word(p, head + 1), 1, __ATOMIC_RELAXED);
    wk_put(p, head, pin && small ? WK_PIN_BIAS : 1);
}

static inline __attribute__((always_inline)) struct wk_result
wk_lookup_body(const struct wk_space *s, const struct wk_pages *pages, uint64_t address, int take_ref, int pin,
               struct wk_oracle *oracle, const int with_oracle) {
    struct wk_result r = { 0, 0, 0, 0, 0, 0, 0 };
    struct wk_log log = { oracle, 0, 0 };
    const uint64_t *table = wk_table(s, s->root);
    const uint64_t *parent = table;
    uint64_t parent_slot = 0;
    uint64_t parent_entry = 0;
    uint32_t level = 0;
    const uint32_t last = s->levels - 1;
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
            // The folio: a huge leaf's starts at its frame, a PTE's is the page rounded to its order.
            uint64_t order = (e >> WK_GENERATION_SHIFT) & WK_FOLIO_ORDER_MASK;
            int small = level == last && order == 0;
            uint64_t head = level == last ? frame & ~((1ull << order) - 1) : wk_payload(e);
            int64_t held = wk_try_get(pages, head, pin && small ? WK_PIN_BIAS : 1);
            if (held < 0) {
                r.retries = 1;
                break;
            }
            if (pin && !small) __atomic_fetch_add(wk_page_word(pages, head + 1), 1, __ATOMIC_RELAXED);
            // gup_fast's re-check: the leaf and the entry that led to its table are unchanged.
            if (wk_load(table, slot) != e || (level != 0 && wk_load(parent, parent_slot) != parent_entry)) {
                wk_release_folio(pages, head, small, pin);
                r.retries = 1;
                break;
            }
            if (with_oracle && (((uint64_t)held ^ (e >> (WK_GENERATION_SHIFT + 5))) & 0x7FF) != 0) r.read_freed_page = 1;
            r.leaves = 1;
            r.frame_sum = frame;
            r.held_folio = head + 1;
            r.held_small = small;
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

struct wk_result wk_lookup(const struct wk_space *s, const struct wk_pages *pages, uint64_t address,
                           int32_t take_ref, int32_t pin, struct wk_oracle *oracle) {
    if (oracle) return wk_lookup_body(s, pages, address, take_ref, pin, oracle, 1);
    return wk_lookup_body(s, pages, address, take_ref, pin, oracle, 0);
}
