/// `counted`: walkers bump a per-mm count around the walk, with full barriers; the freer waits for
/// the count to read zero before it frees.
///
/// Kernel analogue: begin/end_lockless_pgtbl_walk from L. Bras's 2019 powerpc series
/// (atomic_inc + smp_mb ... smp_mb + atomic_dec on mm->context), as register_lockless_pgtable_walker
/// was proposed in review.
///
/// Guarantee: store buffering with both fences. A walker increments, fences, then loads the pmd; the
/// freer unlinks, fences, then loads the count. Either the freer sees the walker's increment and waits,
/// or the walker sees the unlink and never reaches the old table.
///
/// Why not the alternative: every walk pays a contended atomic and two full fences on one shared line
/// ("128 CPUs banging on that atomic counter", Zijlstra), and a freer can wait a long time for a count
/// of zero under steady walking. irq-disable costs the walker nothing; per-CPU counts remove the line
/// bouncing.
public final class CountedProtection: WalkProtection {
    public static let name = "counted"
    public static let summary = "walkers atomic_inc + smp_mb ... smp_mb + atomic_dec a per-mm count; the freer fences and waits for zero"
    public static let guaranteesSafety = true

    private let walkers = PerCPUCounters(cpuCount: 1)  // one shared word, alone on its lines
    private let mm: AddressSpace
    private let waiting = PendingTables()

    public init(_ context: ProtectionContext) { mm = context.mm }

    @inline(__always) public func beginWalk(cpu: Int) {
        walkers[0].wrappingAdd(1, ordering: .relaxed)         // atomic_inc
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb: the count before any table read
    }

    @inline(__always) public func endWalk(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb: every table read before the count
        walkers[0].wrappingSubtract(1, ordering: .relaxed)    // atomic_dec
    }

    public func retire(_ table: TableIndex, cpu: Int) { waiting.add(table) }

    public func flush(cpu: Int) {
        guard let tables = waiting.takeAll() else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb: the unlinks before the count is read
        walkers.waitForZero(except: -1)
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}
}

/// `counted-percpu`: as `counted`, but each CPU counts its own walks in its own word.
///
/// Kernel analogue: v6 of the same series (per-CPU counters under preempt_disable): this_cpu_inc,
/// smp_mb, walk, smp_mb, this_cpu_dec; the freer sums the CPUs.
///
/// Guarantee: the same store-buffering argument per CPU: after its fence the freer waits until it has
/// seen each CPU's count at zero. A walker decrements the word it incremented because a simulated CPU
/// never migrates (the kernel needs preemption disabled for that).
///
/// Why not the alternative: no shared line, and the increment is a plain store, but the full fence
/// per walk stays (on x86 an mfence, the expensive half of `counted`), and the freer reads every CPU.
public final class CountedPerCPUProtection: WalkProtection {
    public static let name = "counted-percpu"
    public static let summary = "walkers this_cpu_inc + smp_mb ... smp_mb + this_cpu_dec their own count; the freer fences and waits for each CPU's zero"
    public static let guaranteesSafety = true

    private let walkers: PerCPUCounters
    private let mm: AddressSpace
    private let waiting = PendingTables()

    public init(_ context: ProtectionContext) {
        walkers = PerCPUCounters(cpuCount: context.cpuCount)
        mm = context.mm
    }

    @inline(__always) public func beginWalk(cpu: Int) {
        // this_cpu_inc: only this CPU writes the word, so a non-locked increment (load, store).
        walkers[cpu].store(walkers[cpu].load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
    }

    @inline(__always) public func endWalk(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        walkers[cpu].store(walkers[cpu].load(ordering: .relaxed) &- 1, ordering: .relaxed)  // this_cpu_dec
    }

    public func retire(_ table: TableIndex, cpu: Int) { waiting.add(table) }

    public func flush(cpu: Int) {
        guard let tables = waiting.takeAll() else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        walkers.waitForZero(except: cpu)
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}
}

/// `counted-ipi-skip`: walkers disable interrupts and count; the freer sends the shootdown IPI only
/// when the count is non-zero.
///
/// Kernel analogue: what the series was for: serialize_against_pte_lookup skipping
/// smp_call_function_many when no lockless walker is running (a 496 GB munmap on 128 vCPUs went from
/// 275 s to 418 ms).
///
/// Guarantee: if the freer, after its fence, reads zero, no walker can hold the old entry (the SB
/// argument); if it reads non-zero, the IPI waits out every IRQ-off window, as in irq-disable.
///
/// Why not the alternative: the freer saves the IPI round whenever walkers are idle, but every walker
/// pays the count and both fences on top of the interrupt mask: the cost moves to the readers.
public final class CountedIPISkipProtection: InterruptDriven {
    public static let name = "counted-ipi-skip"
    public static let summary = "walkers mask interrupts and count (atomic + smp_mb); the freer IPIs the cpumask only when the count is non-zero"
    public static let guaranteesSafety = true

    private let walkers = PerCPUCounters(cpuCount: 1)
    public let interrupts: InterruptDomain
    private let mm: AddressSpace
    private let waiting = PendingTables()

    public init(_ context: ProtectionContext) throws {
        interrupts = try InterruptDomain(cpuCount: context.cpuCount)
        mm = context.mm
    }

    @inline(__always) public func beginWalk(cpu: Int) {
        interrupts.irqDisable(cpu)
        walkers[0].wrappingAdd(1, ordering: .relaxed)         // atomic_inc
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
    }

    @inline(__always) public func endWalk(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        walkers[0].wrappingSubtract(1, ordering: .relaxed)    // atomic_dec
        interrupts.irqEnable(cpu)
    }

    public func retire(_ table: TableIndex, cpu: Int) { waiting.add(table) }

    public func flush(cpu: Int) {
        guard let tables = waiting.takeAll() else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        if walkers[0].load(ordering: .relaxed) != 0 {
            interrupts.interruptAndWait(mm.cpumask.snapshot(), from: cpu)
        }
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}
}

/// `counted-early-dec` (validation only, deliberately broken): `counted` with the decrement moved
/// before the walk's last table read, the bug v1 of the series had ("decrementing before last ptep
/// was used").
///
/// Kernel analogue: [PATCH v1] powerpc/mm: Adds counting method (atomic_dec before the pte was used).
///
/// Guarantee: none. Between the decrement and the PTE-table read the freer can see zero and free.
///
/// Why not the alternative: it exists so `bench validate` proves the oracle catches it.
public final class CountedEarlyDecProtection: WalkProtection {
    public static let name = "counted-early-dec"
    public static let summary = "validation only: counted, but the decrement comes before the last table read (the v1 bug)"
    public static let guaranteesSafety = false
    public static let validationOnly = true

    private let walkers = PerCPUCounters(cpuCount: 1)
    private let decremented: PerCPUCounters
    private let mm: AddressSpace
    private let waiting = PendingTables()

    public init(_ context: ProtectionContext) {
        decremented = PerCPUCounters(cpuCount: context.cpuCount)
        mm = context.mm
    }

    @inline(__always) public func beginWalk(cpu: Int) {
        walkers[0].wrappingAdd(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        decremented[cpu].store(0, ordering: .relaxed)
    }

    @inline(__always) public func leafTableReached(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        walkers[0].wrappingSubtract(1, ordering: .relaxed)  // too early: the PTE table is still to be read
        decremented[cpu].store(1, ordering: .relaxed)
    }

    @inline(__always) public func endWalk(cpu: Int) {
        guard decremented[cpu].load(ordering: .relaxed) == 0 else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        walkers[0].wrappingSubtract(1, ordering: .relaxed)
    }

    public func retire(_ table: TableIndex, cpu: Int) { waiting.add(table) }

    public func flush(cpu: Int) {
        guard let tables = waiting.takeAll() else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        walkers.waitForZero(except: -1)
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}
}

import Synchronization
