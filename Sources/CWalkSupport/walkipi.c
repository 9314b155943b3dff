#include "walkipi.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/membarrier.h>

#define WB_IPI_SIGNAL SIGUSR1

static __thread struct wb_cpu *wb_self;
// IPIs this thread's handler has taken, acked or deferred: read by the thread itself.
static __thread volatile uint64_t wb_taken;

uint64_t wb_ipi_taken_here(void) { return wb_taken; }

static void wb_ipi_handler(int sig) {
    (void)sig;
    struct wb_cpu *c = wb_self;
    if (!c) return;
    int saved = errno;
    wb_taken = wb_taken + 1;
    if (c->irq_masked) {
        c->ipi_pending = 1;  // irq_happened: replayed at enable
    } else {
        __atomic_fetch_add(&c->handled, 1, __ATOMIC_RELAXED);
        wb_ipi_ack(c);
    }
    errno = saved;
}

static int wb_ipi_install_result;

static void wb_ipi_install_once(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wb_ipi_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    wb_ipi_install_result = sigaction(WB_IPI_SIGNAL, &sa, NULL) == 0 ? 0 : errno;
}

int wb_ipi_install(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, wb_ipi_install_once);
    return wb_ipi_install_result;
}

struct wb_cpu *wb_cpus_alloc(int n) {
    void *p = NULL;
    if (posix_memalign(&p, 128, sizeof(struct wb_cpu) * (size_t)n) != 0) return NULL;
    memset(p, 0, sizeof(struct wb_cpu) * (size_t)n);
    return p;
}

void wb_cpus_free(struct wb_cpu *cpus) { free(cpus); }

void wb_cpu_bind(struct wb_cpu *c) {
    // Threads inherit their creator's signal mask, and dispatch's worker threads (where a test may
    // start a run) block everything: a CPU that cannot take the IPI would never ack it.
    sigset_t ipi;
    sigemptyset(&ipi);
    sigaddset(&ipi, WB_IPI_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &ipi, NULL);
    c->thread = pthread_self();
    c->irq_masked = 0;
    c->ipi_pending = 0;
    wb_self = c;
    __atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
}

void wb_cpu_unbind(struct wb_cpu *c) {
    __atomic_store_n(&c->online, 0, __ATOMIC_RELEASE);
    wb_self = NULL;
    wb_ipi_ack(c);
}

uint64_t wb_ipi_send(struct wb_cpu *target) {
    if (!__atomic_load_n(&target->online, __ATOMIC_ACQUIRE)) return 0;
    // The request is visible before the signal: the handler's acquire load sees it.
    uint64_t seq = __atomic_add_fetch(&target->requested, 1, __ATOMIC_SEQ_CST);
    if (pthread_kill(target->thread, WB_IPI_SIGNAL) != 0) return 0;
    return seq;
}

int wb_membarrier_register(void) {
    return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

int wb_membarrier(void) {
    return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}
