// Emulated interrupts for simulated CPUs: a soft interrupt mask (powerpc's lazy irq disable), and IPIs
// delivered as a POSIX signal whose handler acks at once, or, if the CPU is masked, marks the IPI
// pending so that irq enable replays it (replay_soft_interrupts) and acks then.
//
// The handler runs on the interrupted thread in its own program order, like an interrupt on a CPU, so
// the mask needs only a compiler barrier (cli needs no fence either); the sender carries the cost.
// The handler is C because Swift code must not run in a signal handler.
#ifndef WALKIPI_H
#define WALKIPI_H

#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

struct wb_cpu {
    // Owner thread and its own signal handler only (same thread: plain accesses, compiler barriers).
    volatile int irq_masked;
    volatile int ipi_pending;
    // Read by other CPUs: accessed with __atomic builtins.
    int online;
    uint64_t requested;       // IPI sequence senders have asked for
    uint64_t acked;           // highest sequence this CPU has acked
    uint64_t handled;         // IPIs acked straight from the handler
    uint64_t deferred;        // IPIs that found the CPU masked and were acked at enable
    pthread_t thread;
} __attribute__((aligned(128)));  // one CPU per pair of cache lines: no false sharing between CPUs

/// Installs the IPI signal handler (once per process). Returns 0 or an errno value.
int wb_ipi_install(void);
/// An array of `n` zeroed, 128-byte-aligned CPUs, or NULL.
struct wb_cpu *wb_cpus_alloc(int n);
void wb_cpus_free(struct wb_cpu *cpus);
static inline struct wb_cpu *wb_cpu_at(struct wb_cpu *cpus, int i) { return cpus + i; }

/// The calling thread becomes `c` (its signal handler will act for it).
void wb_cpu_bind(struct wb_cpu *c);
/// The calling thread stops being a CPU; it acks everything requested so far first.
void wb_cpu_unbind(struct wb_cpu *c);

/// Acks every IPI requested so far (monotonic: a nested handler may have acked a later one).
static inline void wb_ipi_ack(struct wb_cpu *c) {
    uint64_t want = __atomic_load_n(&c->requested, __ATOMIC_ACQUIRE);
    uint64_t cur = __atomic_load_n(&c->acked, __ATOMIC_RELAXED);
    // Release: everything this CPU read before (the walk) happens before the sender's free.
    while (cur < want && !__atomic_compare_exchange_n(&c->acked, &cur, want, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {}
}

/// local_irq_disable: a store, nothing more.
static inline void wb_irq_disable(struct wb_cpu *c) {
    c->irq_masked = 1;
    __asm__ __volatile__("" ::: "memory");
}

/// local_irq_enable: unmask, then replay an IPI that arrived while masked.
static inline void wb_irq_enable(struct wb_cpu *c) {
    __asm__ __volatile__("" ::: "memory");
    c->irq_masked = 0;
    __asm__ __volatile__("" ::: "memory");
    if (__builtin_expect(c->ipi_pending, 0)) {
        c->ipi_pending = 0;
        __asm__ __volatile__("" ::: "memory");
        __atomic_fetch_add(&c->deferred, 1, __ATOMIC_RELAXED);
        wb_ipi_ack(c);
    }
}

/// How many IPIs have reached the calling thread's CPU so far (the idle loop's "did a flush find me").
uint64_t wb_ipi_taken_here(void);

/// Sends one IPI to `target`; returns the sequence to wait for, or 0 if the signal could not be sent.
uint64_t wb_ipi_send(struct wb_cpu *target);
static inline int wb_ipi_is_acked(struct wb_cpu *target, uint64_t seq) {
    return __atomic_load_n(&target->acked, __ATOMIC_ACQUIRE) >= seq;
}
static inline uint64_t wb_ipi_handled(struct wb_cpu *c) { return __atomic_load_n(&c->handled, __ATOMIC_RELAXED); }
static inline uint64_t wb_ipi_deferred(struct wb_cpu *c) { return __atomic_load_n(&c->deferred, __ATOMIC_RELAXED); }

/// Forced schedules (validation), read from another thread: an IPI reached `c` while its interrupts
/// were off and waits for its irq enable, which alone can ack it.
static inline int wb_ipi_waits_for_enable(struct wb_cpu *c) {
    return __atomic_load_n(&c->ipi_pending, __ATOMIC_RELAXED) && __atomic_load_n(&c->irq_masked, __ATOMIC_RELAXED);
}

/// membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED): 0 or -1 with errno.
int wb_membarrier_register(void);
/// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): every running thread of this process has passed a full
/// barrier when it returns. 0 or -1 with errno.
int wb_membarrier(void);

#endif
