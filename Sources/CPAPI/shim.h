// PAPI (Debian libpapi-dev) for Swift: the macros Swift cannot import become static inline functions.
#ifndef WB_CPAPI_SHIM_H
#define WB_CPAPI_SHIM_H

#include <papi.h>
#include <sde_lib.h>
#include <pthread.h>

static inline int wb_papi_ver_current(void) { return PAPI_VER_CURRENT; }
static inline int wb_papi_null(void) { return PAPI_NULL; }

static inline unsigned long wb_papi_thread_id(void) { return (unsigned long)pthread_self(); }
/// PAPI_thread_init with pthread_self as the thread id function.
static inline int wb_papi_thread_init(void) { return PAPI_thread_init(wb_papi_thread_id); }

static inline int wb_papi_sde_delta(void) { return PAPI_SDE_RO | PAPI_SDE_DELTA; }
static inline int wb_papi_sde_instant(void) { return PAPI_SDE_RO | PAPI_SDE_INSTANT; }
static inline int wb_papi_sde_long_long(void) { return PAPI_SDE_long_long; }

#endif
