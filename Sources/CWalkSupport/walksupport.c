#include "walksupport.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(WB_ASAN)
#define WB_ASAN 1
#endif
#ifdef WB_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int wb_pin_self(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int wb_current_cpu(void) { return sched_getcpu(); }

int wb_allowed_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

int wb_allowed_cpu_list(int *out, int max) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
        if (CPU_ISSET(cpu, &set)) out[n++] = cpu;
    return n;
}

long wb_gettid(void) { return syscall(SYS_gettid); }

int wb_rwlock_init_writer_preferring(pthread_rwlock_t *lock) {
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc != 0) return rc;
    rc = pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (rc == 0) rc = pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return rc;
}

int wb_rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    long rc = syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */);
    if (rc == 0) return 0;
    if (errno != ENOSYS && errno != EINVAL) return -1;
#endif
    // Fallback for filesystems without renameat2: link() also refuses to replace.
    if (link(from, to) != 0) return -1;
    return unlink(from);
}

static volatile sig_atomic_t wb_stop_requested;

static void wb_stop_handler(int sig) {
    if (!wb_stop_requested) {
        wb_stop_requested = sig;
        return;
    }
    // A second signal: the user insists. Die of it, as if no handler were installed.
    signal(sig, SIG_DFL);
    raise(sig);
}

int wb_stop_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = wb_stop_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0) return errno;
    if (sigaction(SIGTERM, &sa, NULL) != 0) return errno;
    // A parent may have started us with these blocked (the mask survives exec): unblock them, or the
    // handler would never run and a stop request would be lost.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int wb_stop_signal(void) { return wb_stop_requested; }

#ifdef WB_ASAN
int wb_asan_enabled(void) { return 1; }
void wb_asan_poison(void *p, size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
void wb_asan_unpoison(void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
int wb_asan_enabled(void) { return 0; }
void wb_asan_poison(void *p, size_t n) { (void)p; (void)n; }
void wb_asan_unpoison(void *p, size_t n) { (void)p; (void)n; }
#endif
