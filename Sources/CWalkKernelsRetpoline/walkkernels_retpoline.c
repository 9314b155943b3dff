// The retpoline build of the C callback walker: the same source as CWalkKernels/walkkernels.c, compiled
// with -mretpoline (Package.swift), so every indirect call goes through an __llvm_retpoline_* thunk.
#define WK_PREFIX wk_retp_
#include "../CWalkKernels/walk_impl.h"
