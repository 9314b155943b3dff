// perf_event_open for per-thread software counters (Swift's Glibc has no syscall()).
#ifndef WALKPERF_H
#define WALKPERF_H

#include <stdint.h>

/// Opens a disabled software counter (PERF_TYPE_SOFTWARE, `config`) for the calling thread on any CPU,
/// user and kernel time. Returns the fd, or -errno.
int wb_perf_open_software(uint64_t config);
/// Resets and enables / disables the counter. 0 or -errno.
int wb_perf_enable(int fd);
int wb_perf_disable(int fd);
/// Reads value, time enabled and time running (for multiplex scaling). 0 or -errno.
int wb_perf_read(int fd, uint64_t *value, uint64_t *enabled, uint64_t *running);
void wb_perf_close(int fd);

// PERF_COUNT_SW_* values, for Swift.
enum {
    WB_PERF_SW_CPU_CLOCK = 0,
    WB_PERF_SW_TASK_CLOCK = 1,
    WB_PERF_SW_PAGE_FAULTS = 2,
    WB_PERF_SW_CONTEXT_SWITCHES = 3,
    WB_PERF_SW_CPU_MIGRATIONS = 4,
    WB_PERF_SW_PAGE_FAULTS_MIN = 5,
    WB_PERF_SW_PAGE_FAULTS_MAJ = 6,
};

#endif
