// The retpoline build of the C callback walker (walk_impl.h compiled with clang -mretpoline).
// The types are CWalkKernels' (walkkernels.h), so Swift sees one wk_space / wk_ops / wk_result.
#ifndef WALKKERNELS_RETPOLINE_H
#define WALKKERNELS_RETPOLINE_H

#include "walkkernels.h"

const struct wk_ops *wk_retp_counting_ops(int32_t ops_set);
struct wk_result wk_retp_callback_walk(const struct wk_space *s, const struct wk_ops *ops,
                                       uint64_t start, uint64_t end, struct wk_oracle *oracle, int32_t ops_set);
/// INDIRECT_CALL_2-style: compare with the counting hooks, call directly on a match (the kind `promoted`).
struct wk_result wk_retp_callback_walk_promoted(const struct wk_space *s, const struct wk_ops *ops,
                                                uint64_t start, uint64_t end, struct wk_oracle *oracle, int32_t ops_set);

#endif
