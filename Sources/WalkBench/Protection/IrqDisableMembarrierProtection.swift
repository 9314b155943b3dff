import CWalkSupport
import Synchronization

/// `irq-disable-membarrier`: walkers set a per-CPU "in walk" flag; the freer calls
/// membarrier(PRIVATE_EXPEDITED) and then waits until it has seen each CPU's flag clear.
///
/// Kernel analogue: the same contract as irq-disable + shootdown IPI, built the way liburcu's memb
/// flavour builds its grace period: the flag stands for the IRQ-off window, membarrier for the IPI.
///
/// Guarantee: after the unlink, membarrier makes every running thread pass a full barrier. A walker
/// whose flag store had not been seen by then reads the pmd after that barrier and so sees the unlink;
/// a walker whose flag is seen set is waited for. Only a flag observed clear after membarrier lets
/// the free go ahead.
///
/// Why not the alternative: unlike the signal IPI it needs no handler and no per-thread signal
/// delivery, but membarrier does not wait for anything by itself (it only orders), so the freer must
/// still spin on every CPU's flag; and it interrupts every thread of the process, not just the mm's.
public final class IrqDisableMembarrierProtection: WalkProtection {
    public static let name = "irq-disable-membarrier"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers set a per-CPU flag (a store); the freer runs membarrier(PRIVATE_EXPEDITED) and waits for each flag to clear"
    public static let kernel = "none: a user-space analogue of irq-disable (membarrier stands in for the IPI round)"
    public static let guaranteesSafety = true

    private let inWalk: PerCPUCounters
    private let mm: AddressSpace
    private let gather = PendingTables()
    private let barriers = Atomic<UInt64>(0)

    public init(_ context: ProtectionContext) throws {
        try sysCall("membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)") { wb_membarrier_register() }
        inWalk = PerCPUCounters(cpuCount: context.cpuCount)
        mm = context.mm
    }

    /// A plain store and a compiler barrier, as cli needs nothing more: the freer's membarrier supplies
    /// the fence on this CPU.
    @inline(__always) public func beginWalk(cpu: Int) {
        inWalk[cpu].store(1, ordering: .relaxed)
        wb_compiler_barrier()
    }

    @inline(__always) public func endWalk(cpu: Int) {
        wb_compiler_barrier()
        inWalk[cpu].store(0, ordering: .relaxed)
    }

    public func retire(_ table: TableIndex, cpu: Int) { gather.add(table) }

    public func flush(cpu: Int) {
        guard let tables = gather.takeAll() else { return }
        // The unlinks precede this call; membarrier runs a full barrier on every running thread
        // (the IPI's smp_mb), so from here on no walker can start with the old entry unseen.
        guard wb_membarrier() == 0 else { preconditionFailure("membarrier(PRIVATE_EXPEDITED) failed after registration") }
        barriers.wrappingAdd(1, ordering: .relaxed)
        inWalk.waitForZero(except: cpu)
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}

    /// One membarrier stands in for one IPI round to every other CPU.
    public func updaterCounters() -> UpdaterCounters {
        UpdaterCounters(ipisSent: barriers.load(ordering: .relaxed) &* UInt64(max(inWalk.count - 1, 0)))
    }
    public func resetUpdaterCounters() { barriers.store(0, ordering: .relaxed) }

    public func freeHeldBack(walker: Int, writer: Int) -> String? {
        inWalk.waitHeldBack(on: walker, what: "CPU \(walker)'s in-walk flag")
    }
}
