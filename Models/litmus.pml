/*
 * The classic litmus shapes, to check the memory-model machinery in memory.pml itself. Each run
 * asserts that the shape's interesting outcome never happens: a counterexample means the model
 * allows it. scripts/verify holds the expected verdict per shape and model (x86-TSO's, and for
 * WEAK the Linux kernel memory model's, with the one documented multi-copy-atomicity difference).
 *
 * Select one with -DSB, -DMP, -DLB or -DIRIW; -DFENCED puts the shape's barriers in
 * (SB, LB, IRIW: smp_mb; MP: smp_wmb on the writer, smp_rmb on the reader), -DRMB puts smp_rmb
 * between IRIW's reader loads. x and y start at 0.
 */
#define NCPU 4
mtype = { x, y };
#define MEMSIZE 3
#include "memory.pml"

byte r0, r1, r2, r3;
byte finished;

inline barrier(c) {
#ifdef FENCED
    SMP_MB(c)
#else
    skip
#endif
}

#ifdef SB
/* P0: x=1; r0=y   P1: y=1; r1=x   outcome r0=0 && r1=0 */
#define THREADS 2
proctype P0() { STORE(0, x, 1); barrier(0); LOAD(0, 0, y, r0); finished++ }
proctype P1() { STORE(1, y, 1); barrier(1); LOAD(1, 0, x, r1); finished++ }
#define OUTCOME (r0 == 0 && r1 == 0)
#endif

#ifdef MP
/* P0: x=1; y=1   P1: r0=y; r1=x   outcome r0=1 && r1=0 */
#define THREADS 2
proctype P0() {
    STORE(0, x, 1);
#ifdef FENCED
    SMP_WMB(0);
#endif
    STORE(0, y, 1); finished++
}
proctype P1() {
    LOAD_ASYNC(1, 0, y);
#ifdef FENCED
    SMP_RMB(1);
#endif
    LOAD_ASYNC(1, 1, x); USE(1, 0, r0); USE(1, 1, r1); finished++
}
#define OUTCOME (r0 == 1 && r1 == 0)
#endif

#ifdef LB
/* P0: r0=x; y=1   P1: r1=y; x=1   outcome r0=1 && r1=1 */
#define THREADS 2
proctype P0() { LOAD_ASYNC(0, 0, x); barrier(0); STORE(0, y, 1); USE(0, 0, r0); finished++ }
proctype P1() { LOAD_ASYNC(1, 0, y); barrier(1); STORE(1, x, 1); USE(1, 0, r1); finished++ }
#define OUTCOME (r0 == 1 && r1 == 1)
#endif

#ifdef IRIW
/* P0: x=1   P1: y=1   P2: r0=x; r1=y   P3: r2=y; r3=x
 * outcome r0=1 && r1=0 && r2=1 && r3=0: the readers saw the two stores in opposite orders */
#define THREADS 4
proctype P0() { STORE(0, x, 1); finished++ }
proctype P1() { STORE(1, y, 1); finished++ }
inline reader_barrier(c) {
#if defined(FENCED)
    SMP_MB(c)
#elif defined(RMB)
    SMP_RMB(c)
#else
    skip
#endif
}
proctype P2() { LOAD_ASYNC(2, 0, x); reader_barrier(2); LOAD_ASYNC(2, 1, y); USE(2, 0, r0); USE(2, 1, r1); finished++ }
proctype P3() { LOAD_ASYNC(3, 0, y); reader_barrier(3); LOAD_ASYNC(3, 1, x); USE(3, 0, r2); USE(3, 1, r3); finished++ }
#define OUTCOME (r0 == 1 && r1 == 0 && r2 == 1 && r3 == 0)
#endif

init {
    atomic {
        byte c = 0;
        do :: c < THREADS -> run Buffer(c); c++ :: else -> break od;
        run P0(); run P1();
#if THREADS == 4
        run P2(); run P3();
#endif
    }
    /* Every thread done and every buffer drained: the final state. */
    finished == THREADS && sb_len[0] == 0 && sb_len[1] == 0 && sb_len[2] == 0 && sb_len[3] == 0;
    printf("final: r0=%d r1=%d r2=%d r3=%d\n", r0, r1, r2, r3);
    assert(!OUTCOME)
}
