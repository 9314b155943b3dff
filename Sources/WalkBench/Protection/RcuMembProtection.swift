import CURCUMemb

/// `rcu-memb`: walkers hold rcu_read_lock only (liburcu's memb flavour, inlined); the freer gathers
/// retired tables into a batch and frees it from a call_rcu callback after a grace period.
///
/// Kernel analogue: MMU_GATHER_RCU_TABLE_FREE (tlb_remove_table into a 509-slot mmu_table_batch,
/// tlb_table_flush → call_rcu → tlb_remove_table_rcu) read by pte_offset_map's walkers, which since
/// Hugh Dickins's 2023 series hold rcu_read_lock and leave interrupts enabled. When a batch cannot be
/// allocated (`batchFailRate`), tlb_remove_table_one: a sync IPI to every CPU, then an immediate free.
/// THP collapse frees its PTE table through pte_free_defer (6.5+): the table's own call_rcu, which
/// cannot fail, so the fallback never meets a collapse.
///
/// Guarantee: a table is freed only after a grace period that began after its unlink, and a grace
/// period waits for every read-side section already running: a walker that loaded the old entry is
/// inside one. The fallback breaks this: the sync IPI is acked from the handler at
/// once, mid-walk, so its immediate free is a use-after-free for these walkers. The promise holds only
/// while every batch allocates (batchFailRate 0).
///
/// Why not the alternative: the read side is a thread-local counter store each way and no fence
/// (membarrier moves the fence to the grace period), and the freer never waits for a walker; the
/// price is latency and memory: tables stay allocated for a grace period plus liburcu's call_rcu
/// batching (milliseconds). irq-disable makes every free wait for an IPI round; rcu-qsbr takes even
/// the counter off the walk but needs every reader to announce quiescent states.
public final class RcuMembProtection: WalkProtection {
    public static let name = "rcu-memb"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    /// 2: THP collapse frees its PTE table through pte_free_defer (its own call_rcu, no fallback).
    public static let revision = 2
    public static let summary = "walkers rcu_read_lock only (liburcu memb, inlined); the freer batches tables and frees them from call_rcu; sync IPI + free if a batch fails"
    public static let kernel = "MMU_GATHER_RCU_TABLE_FREE (powerpc, arm64, s390, sparc, x86 with PARAVIRT, all x86 from 6.15 as reported); rcu_read_lock-only walkers are pte_offset_map's, with pte_free_defer (6.5/6.6 series)"
    public static let guaranteesSafety = true
    public static let batchesTables = true

    private let tables: RcuTableFree<RcuMemb>

    public init(_ context: ProtectionContext) throws {
        tables = try RcuTableFree(context, seed: 0x7263_752D_6D65_6D62)
    }

    /// Every thread registers: walkers to read, writers because call_rcu wants a registered caller
    /// (a registered memb thread outside a read-side section holds up no grace period). Every thread is
    /// also a CPU the fallback's sync IPI reaches.
    public func cpuStarted(_ cpu: Int) {
        tables.interrupts.bind(cpu)
        RcuMemb.registerThread()
        tables.noteReader(cpu: cpu)
    }

    public func cpuStopping(_ cpu: Int) {
        tables.forgetReader(cpu: cpu)
        RcuMemb.unregisterThread()
        tables.interrupts.unbind(cpu)
    }

    @inline(__always) public func beginWalk(cpu: Int) { wb_memb_read_lock() }
    @inline(__always) public func endWalk(cpu: Int) { wb_memb_read_unlock() }

    public func retire(_ table: TableIndex, cpu: Int) { tables.retire(table, cpu: cpu) }
    public func flush(cpu: Int) { tables.flush() }
    public func retireDeferred(_ table: TableIndex, cpu: Int) { tables.retireDeferred(table) }
    public func drain() { tables.drain() }

    public func updaterCounters() -> UpdaterCounters { tables.counters }
    public func resetUpdaterCounters() { tables.resetCounters() }
    public func waitDescription(cpu: Int) -> String? { tables.interrupts.waitDescription(cpu: cpu) }
    public func freeHeldBack(walker: Int, writer: Int) -> String? { tables.freeHeldBack(walker: walker, writer: writer) }
}

/// liburcu's memb flavour: grace periods by membarrier(PRIVATE_EXPEDITED) plus a scan of the readers'
/// counters; the read side is a TLS counter update (CURCUMemb/shim.h).
enum RcuMemb: RcuFlavour {
    static func registerThread() {
        if wb_memb_thread_registered() == 0 { wb_memb_register_thread() }
    }

    static func unregisterThread() {
        if wb_memb_thread_registered() != 0 { wb_memb_unregister_thread() }
    }

    static func callRcu(_ head: UnsafeMutablePointer<rcu_head>, _ callback: RcuCallback) {
        wb_memb_call_rcu(head, callback)
    }

    static func barrier() { wb_memb_barrier() }

    static func readerCounter() -> UnsafeMutablePointer<UInt> { wb_memb_reader_counter() }
    static func holdsGracePeriods(_ counter: UnsafeMutablePointer<UInt>) -> String? {
        let nesting = wb_memb_reader_nesting(counter)
        return nesting == 0 ? nil : "the reader is inside rcu_read_lock (nesting \(nesting)), so no grace period that began after its lock can end"
    }
}
