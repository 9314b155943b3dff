import CURCUQsbr

/// `rcu-qsbr`: walkers' read-side section is empty (liburcu's QSBR flavour); each walker announces a
/// quiescent state between batches of walks; the freer is rcu-memb's, on QSBR grace periods.
///
/// Kernel analogue: the kernel's own RCU in a non-preemptible kernel, where rcu_read_lock is nothing
/// and a context switch is the quiescent state, with MMU_GATHER_RCU_TABLE_FREE's batches
/// (tlb_table_flush → call_rcu); the walkers are pte_offset_map's rcu_read_lock-only class, so
/// tlb_remove_table_one's sync IPI does not protect them. Here the quiescent state is the runner's
/// `quiescent` call, once per 256 walks.
///
/// Guarantee: a grace period ends only when every online registered thread has announced a quiescent
/// state after it began; walkers announce only between walks, so no walk that loaded the old entry can
/// still be running when a batch is freed. Updaters never read: each thread goes offline at its first
/// updater-side call and comes online only around call_rcu, so it holds up no grace period. As in
/// rcu-memb, the batch-failure fallback (sync IPI, acked at once) is unsafe: the promise needs
/// batchFailRate 0.
///
/// Why not the alternative: the walk costs nothing at all, and a quiescent state is a load and a compare
/// per batch (a store and fences only once per grace period); but a registered thread that stops
/// announcing (blocked, or looping outside the runner) stalls every free until it goes offline,
/// and grace periods last at least a batch of walks. rcu-memb pays a counter per walk for not needing
/// the announcements.
public final class RcuQsbrProtection: WalkProtection {
    public static let name = "rcu-qsbr"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    /// 2: THP collapse frees its PTE table through pte_free_defer (its own call_rcu, no fallback).
    public static let revision = 2
    public static let summary = "walkers' read side is empty (liburcu QSBR), a quiescent state per batch of walks; the freer batches tables and frees them from call_rcu"
    public static let kernel = "as rcu-memb, with a non-preemptible kernel's RCU (rcu_read_lock compiles to nothing)"
    public static let guaranteesSafety = true
    public static let batchesTables = true

    private let tables: RcuTableFree<RcuQsbr>

    public init(_ context: ProtectionContext) throws {
        tables = try RcuTableFree(context, seed: 0x7263_752D_7173_6272)
    }

    /// Every thread registers (and so is online): a walker must be online before its first walk, and
    /// which threads will walk is not known here. A thread blocked before its first walk (the runner's
    /// start barrier) or after its last only delays grace periods: no thread waits for one while
    /// holding up a walker. cpuStopping's unregister takes the thread offline first.
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
    @inline(__always) public func endWalk(cpu: Int) { wb_qsbr_read_unlock() }
    @inline(__always) public func quiescent(cpu: Int) { wb_qsbr_quiescent_state() }
    /// An idle CPU is quiescent for as long as it idles (rcu_idle_enter): offline, no grace period waits for it.
    public func enterIdle(cpu: Int) { RcuQsbr.goOffline() }
    public func exitIdle(cpu: Int) { wb_qsbr_thread_online() }

    /// An updater never reads: it goes offline on its first updater-side call and stays so.
    public func retire(_ table: TableIndex, cpu: Int) {
        RcuQsbr.goOffline()
        tables.retire(table, cpu: cpu)
    }

    public func flush(cpu: Int) {
        RcuQsbr.goOffline()
        tables.flush()
    }

    public func retireDeferred(_ table: TableIndex, cpu: Int) {
        RcuQsbr.goOffline()
        tables.retireDeferred(table)
    }

    /// rcu_barrier takes an online caller offline while it waits (liburcu 0.13), so it never waits for
    /// its own thread.
    public func drain() { tables.drain() }

    public func updaterCounters() -> UpdaterCounters { tables.counters }
    public func resetUpdaterCounters() { tables.resetCounters() }
    public func waitDescription(cpu: Int) -> String? { tables.interrupts.waitDescription(cpu: cpu) }
    public func freeHeldBack(walker: Int, writer: Int) -> String? { tables.freeHeldBack(walker: walker, writer: writer) }
}

/// liburcu's QSBR flavour: grace periods wait for every online registered thread's next quiescent
/// state; offline threads are skipped (CURCUQsbr/shim.h).
enum RcuQsbr: RcuFlavour {
    static func registerThread() {
        if wb_qsbr_thread_registered() == 0 { wb_qsbr_register_thread() }
    }

    static func unregisterThread() {
        if wb_qsbr_thread_registered() != 0 { wb_qsbr_unregister_thread() }
    }

    /// thread_offline if the calling thread is online (a TLS load when it is not).
    static func goOffline() {
        if wb_qsbr_read_ongoing() != 0 { wb_qsbr_thread_offline() }
    }

    /// call_rcu "should be called from registered RCU read-side threads. For the QSBR flavor, the caller
    /// should be online" (rcu-api.md): an offline updater comes online for the call only.
    static func callRcu(_ head: UnsafeMutablePointer<rcu_head>, _ callback: RcuCallback) {
        let wasOnline = wb_qsbr_read_ongoing() != 0
        if !wasOnline { wb_qsbr_thread_online() }
        wb_qsbr_call_rcu(head, callback)
        if !wasOnline { wb_qsbr_thread_offline() }
    }

    static func barrier() { wb_qsbr_barrier() }

    static func readerCounter() -> UnsafeMutablePointer<UInt> { wb_qsbr_reader_counter() }
    static func holdsGracePeriods(_ counter: UnsafeMutablePointer<UInt>) -> String? {
        wb_qsbr_reader_holds_grace_period(counter) != 0
            ? "a grace period that began after call_rcu waits for the reader's next quiescent state" : nil
    }
}
