#include "walkperf.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

int wb_perf_open_software(uint64_t config) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = config;
    attr.disabled = 1;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    long fd = syscall(SYS_perf_event_open, &attr, 0 /* this thread */, -1 /* any cpu */, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

int wb_perf_enable(int fd) {
    if (ioctl(fd, PERF_EVENT_IOC_RESET, 0) != 0) return -errno;
    return ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) == 0 ? 0 : -errno;
}

int wb_perf_disable(int fd) { return ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) == 0 ? 0 : -errno; }

int wb_perf_read(int fd, uint64_t *value, uint64_t *enabled, uint64_t *running) {
    uint64_t buf[3];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n != (ssize_t)sizeof(buf)) return n < 0 ? -errno : -EIO;
    *value = buf[0];
    *enabled = buf[1];
    *running = buf[2];
    return 0;
}

void wb_perf_close(int fd) { close(fd); }
