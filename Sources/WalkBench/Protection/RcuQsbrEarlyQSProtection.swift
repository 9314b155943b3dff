import CURCUQsbr

/// `rcu-qsbr-early-qs` (validation only, deliberately broken): `rcu-qsbr` whose walker announces a
/// quiescent state inside its walk, after loading the pointer to its last-level table and before
/// reading it. Everything else is rcu-qsbr's, delegated.
///
/// Kernel analogue: a lockless walker that can schedule, or calls cond_resched(), between pmd load
/// and pte read under a non-preemptible kernel's RCU (where a context switch is the quiescent state);
/// the class the mutation study found `bench validate` could miss.
///
/// Guarantee: none. A grace period that began after the unlink can end at the announcement, and the
/// callback frees the table the walker is about to read.
///
/// Why not the alternative: it exists so the forced schedules prove they catch it every time.
public final class RcuQsbrEarlyQSProtection: WalkProtection {
    public static let name = "rcu-qsbr-early-qs"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "validation only: rcu-qsbr, but the walker announces a quiescent state before its last table read"
    public static let kernel = "none: a quiescent state inside the walk, for validation"
    public static let guaranteesSafety = false
    public static let batchesTables = true
    public static let validationOnly = true

    private let qsbr: RcuQsbrProtection

    public init(_ context: ProtectionContext) throws { qsbr = try RcuQsbrProtection(context) }

    @inline(__always) public func leafTableReached(cpu: Int) { wb_qsbr_quiescent_state() }  // the bug

    public func cpuStarted(_ cpu: Int) { qsbr.cpuStarted(cpu) }
    public func cpuStopping(_ cpu: Int) { qsbr.cpuStopping(cpu) }
    @inline(__always) public func beginWalk(cpu: Int) { qsbr.beginWalk(cpu: cpu) }
    @inline(__always) public func endWalk(cpu: Int) { qsbr.endWalk(cpu: cpu) }
    @inline(__always) public func quiescent(cpu: Int) { qsbr.quiescent(cpu: cpu) }
    public func enterIdle(cpu: Int) { qsbr.enterIdle(cpu: cpu) }
    public func exitIdle(cpu: Int) { qsbr.exitIdle(cpu: cpu) }
    public func retire(_ table: TableIndex, cpu: Int) { qsbr.retire(table, cpu: cpu) }
    public func flush(cpu: Int) { qsbr.flush(cpu: cpu) }
    public func retireDeferred(_ table: TableIndex, cpu: Int) { qsbr.retireDeferred(table, cpu: cpu) }
    public func drain() { qsbr.drain() }
    public func updaterCounters() -> UpdaterCounters { qsbr.updaterCounters() }
    public func resetUpdaterCounters() { qsbr.resetUpdaterCounters() }
    public func waitDescription(cpu: Int) -> String? { qsbr.waitDescription(cpu: cpu) }
    public func freeHeldBack(walker: Int, writer: Int) -> String? { qsbr.freeHeldBack(walker: walker, writer: writer) }
}
