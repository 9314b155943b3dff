import Synchronization

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
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "validation only: counted, but the decrement comes before the last table read (the v1 bug)"
    public static let kernel = "none: v1 of the 2019 powerpc series' bug, for validation"
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

    public func freeHeldBack(walker: Int, writer: Int) -> String? { walkers.waitHeldBack(on: 0, what: "the walker count") }
}
