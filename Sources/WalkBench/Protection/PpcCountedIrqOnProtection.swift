import Synchronization

/// `ppc-counted-irq-on` (validation only): ppc-serialize-counted's count and fences, but the walkers
/// leave interrupts on. Deliberately broken.
///
/// Kernel analogue: none; the design the 2019 series did not propose. It shows why the count was only
/// a complement to the IPI: with interrupts on, neither the serialize round nor the grace period waits
/// for a walker, and a non-zero count protects nothing by itself.
///
/// Guarantee: none. `bench validate --forced` must catch a table freed under a stopped walker that
/// holds the count.
///
/// Why not the alternative: it is the alternative, shown failing.
public final class PpcCountedIrqOnProtection: BroadcastInvalidation {
    public static let name = "ppc-counted-irq-on"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "BROKEN (validation): ppc-serialize-counted's walkers counting with interrupts left on"
    public static let kernel = "none: the 2019 series' count without the interrupt mask it kept"
    public static let guaranteesSafety = false
    public static let validationOnly = true

    public let shared: BroadcastInvalidationState
    public let interrupts: InterruptDomain
    private let walkers = PerCPUCounters(cpuCount: 1)

    public init(_ context: ProtectionContext) throws {
        shared = try BroadcastInvalidationState(context)
        interrupts = shared.interrupts
    }

    @inline(__always) public func beginWalk(cpu: Int) {
        walkers[0].wrappingAdd(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    @inline(__always) public func endWalk(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        walkers[0].wrappingSubtract(1, ordering: .relaxed)
    }

    public func hugePMDChanged(_ change: HugePMDChange, cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if walkers[0].load(ordering: .relaxed) != 0 { shared.serialize(from: cpu) }
    }
}
