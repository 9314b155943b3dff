import CURCUQsbr

/// `rcu-qsbr-early-qs` (validation only, deliberately broken): `rcu-qsbr` whose walker announces a
/// quiescent state inside its walk, after loading the pointer to its last-level table and before
/// reading it.
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
    public static let guaranteesSafety = false
    public static let batchesTables = true
    public static let validationOnly = true

    private let tables: RcuTableFree<RcuQsbr>

    public init(_ context: ProtectionContext) throws {
        tables = try RcuTableFree(context, seed: 0x7263_752D_6571_7321)
    }

    public func cpuStarted(_ cpu: Int) {
        tables.interrupts.bind(cpu)
        RcuQsbr.registerThread()
        tables.noteReader(cpu: cpu)
    }

    public func cpuStopping(_ cpu: Int) {
        tables.forgetReader(cpu: cpu)
        RcuQsbr.unregisterThread()
        tables.interrupts.unbind(cpu)
    }

    @inline(__always) public func beginWalk(cpu: Int) { wb_qsbr_read_lock() }
    @inline(__always) public func leafTableReached(cpu: Int) { wb_qsbr_quiescent_state() }  // the bug
    @inline(__always) public func endWalk(cpu: Int) { wb_qsbr_read_unlock() }
    @inline(__always) public func quiescent(cpu: Int) { wb_qsbr_quiescent_state() }
    public func enterIdle(cpu: Int) { RcuQsbr.goOffline() }
    public func exitIdle(cpu: Int) { wb_qsbr_thread_online() }

    public func retire(_ table: TableIndex, cpu: Int) {
        RcuQsbr.goOffline()
        tables.retire(table, cpu: cpu)
    }

    public func flush(cpu: Int) {
        RcuQsbr.goOffline()
        tables.flush()
    }

    public func drain() { tables.drain() }

    public func updaterCounters() -> UpdaterCounters { tables.counters }
    public func resetUpdaterCounters() { tables.resetCounters() }
    public func waitDescription(cpu: Int) -> String? { tables.interrupts.waitDescription(cpu: cpu) }
    public func freeHeldBack(walker: Int, writer: Int) -> String? { tables.freeHeldBack(walker: walker, writer: writer) }
}
