import CWalkSupport
#if canImport(Glibc)
import Glibc
#endif
import CURCUMemb
import Histogram
import Synchronization

// The updater side shared by rcu-memb, rcu-qsbr and rcu-memb-irq: mm/mmu_gather.c's
// MMU_GATHER_RCU_TABLE_FREE path (tlb_remove_table, tlb_table_flush, tlb_remove_table_rcu and the
// tlb_remove_table_one fallback) on top of one liburcu flavour.
//
// `wb_rcu_table_batch` and `rcu_head` come from the shims (CURCUMemb/shim.h, CURCUQsbr/shim.h); both
// modules define them from the same text and clang merges them, so the flavours share these types.

/// One liburcu flavour, as far as the RCU strategies' updater side needs it.
protocol RcuFlavour {
    /// rcu_register_thread, unless the calling thread already is registered with this flavour.
    static func registerThread()
    /// rcu_unregister_thread, if the calling thread is registered with this flavour.
    static func unregisterThread()
    /// call_rcu(head, callback) from the calling thread, in whatever state the flavour asks of a caller.
    static func callRcu(_ head: UnsafeMutablePointer<rcu_head>, _ callback: RcuCallback)
    /// rcu_barrier: returns when every callback queued before it has run.
    static func barrier()
    /// The calling thread's reader state, for `holdsGracePeriods` on another thread.
    static func readerCounter() -> UnsafeMutablePointer<UInt>
    /// Forced schedules: why no grace period that began after a call_rcu made now can end while the
    /// reader owning `counter` stays where it is, or nil.
    static func holdsGracePeriods(_ counter: UnsafeMutablePointer<UInt>) -> String?
}

typealias RcuCallback = @convention(c) (UnsafeMutablePointer<rcu_head>?) -> Void

/// A batch's address, moved between the gather's lock and the caller that submits it.
struct RcuBatchRef: @unchecked Sendable {
    // @unchecked Sendable: a batch is owned by one party at a time: the gather (under its lock), the
    // submitter, then liburcu's call_rcu thread.
    let pointer: UnsafeMutablePointer<wb_rcu_table_batch>
}

/// What a batch's callback needs once the grace period is over. Each batch in flight holds a +1 on
/// it (an Unmanaged in the batch's `context`), so a callback never outlives the pool it frees into,
/// whatever happens to the strategy.
final class RcuReclaimer: Sendable {
    let pool: TablePool
    let timeBase: TimeBase
    /// call_rcu to callback, in TimeBase ticks, one value per batch.
    let gracePeriods = Locked(Histogram<UInt64>(highestTrackableValue: 1 << 46, numberOfSignificantValueDigits: .three))
    /// Batches handed to call_rcu whose callback has not run yet.
    let batchesQueued = Atomic<Int>(0)

    init(pool: TablePool, timeBase: TimeBase) {
        self.pool = pool
        self.timeBase = timeBase
    }

    /// A new, empty batch (__get_free_page in tlb_remove_table), holding a reference to `self`.
    func allocateBatch() -> RcuBatchRef {
        guard let raw = malloc(MemoryLayout<wb_rcu_table_batch>.size) else {
            fatalError("malloc(\(MemoryLayout<wb_rcu_table_batch>.size)) failed for an mmu_table_batch")
        }
        let b = raw.bindMemory(to: wb_rcu_table_batch.self, capacity: 1)
        b.pointee.context = Unmanaged.passRetained(self).toOpaque()
        b.pointee.submitted = 0
        b.pointee.count = 0
        return RcuBatchRef(pointer: b)
    }

    /// tlb_remove_table_rcu: every table in the batch goes back to the pool, then the batch itself.
    /// Consumes the batch and its reference to `self`.
    func reclaim(_ b: UnsafeMutablePointer<wb_rcu_table_batch>, afterGracePeriod: Bool) {
        if afterGracePeriod {
            batchesQueued.wrappingSubtract(1, ordering: .relaxed)
            let now = timeBase.now(), submitted = b.pointee.submitted
            let waited = now > submitted ? now - submitted : 0
            _ = gracePeriods.withLock { $0.record(waited) }
            wb_event_add(WB_EVENT_GRACE_PERIODS, 1)
        }
        let tables = wb_rcu_table_batch_tables(b)!
        for i in 0..<Int(b.pointee.count) { pool.free(TableIndex(raw: tables[i])) }
        let context = b.pointee.context!
        free(b)
        Unmanaged<RcuReclaimer>.fromOpaque(context).release()
    }
}

/// The call_rcu callback. Runs on liburcu's call_rcu thread (not a simulated CPU: it is bound to
/// none, and nothing here cares which it is), after a grace period that began after call_rcu.
/// The rcu_head is the batch's first member, so its address is the batch's.
func rcuTableBatchCallback(_ head: UnsafeMutablePointer<rcu_head>?) {
    guard let head else { return }
    let batch = UnsafeMutableRawPointer(head).assumingMemoryBound(to: wb_rcu_table_batch.self)
    // Keep the reclaimer alive across reclaim, which drops the batch's reference.
    let reclaimer = Unmanaged<RcuReclaimer>.fromOpaque(batch.pointee.context!).takeUnretainedValue()
    reclaimer.reclaim(batch, afterGracePeriod: true)
}

/// What tlb_remove_table did with one table.
enum RcuRetireOutcome {
    /// Added to the current batch.
    case added
    /// Added, and the batch is now full: it must be submitted.
    case full(RcuBatchRef)
    /// No batch could be allocated: tlb_remove_table_one.
    case noBatch
}

/// tlb_remove_table and friends for one flavour: collects retired tables in a batch of
/// WB_MAX_TABLE_BATCH (509), hands each batch to call_rcu at the end of the gather or when it fills,
/// and, when a batch cannot be allocated (`batchFailRate`), falls back to tlb_remove_table_one: an
/// IPI to every CPU with wait, then an immediate free; with PT_RECLAIM, the table's own call_rcu.
final class RcuTableFree<Flavour: RcuFlavour>: Sendable {
    private struct Gather {
        var batch: RcuBatchRef?
        /// Draws the batch-allocation failures (fault injection on GFP_NOWAIT).
        var rng: SplitMix64
    }

    let interrupts: InterruptDomain
    private let reclaimer: RcuReclaimer
    private let gather: Locked<Gather>
    private let failRate: Double
    /// PT_RECLAIM: the no-batch path frees through call_rcu too.
    private let ptReclaim: Bool
    /// Every CPU: smp_call_function's "all online CPUs but me" (offline ones are skipped on send).
    private let allCPUs: [Int]
    /// Per CPU, the address of its thread's reader state (`Flavour.readerCounter`), or 0.
    private let readers: PerCPUCounters

    init(_ context: ProtectionContext, seed: UInt64) throws {
        interrupts = try InterruptDomain(cpuCount: context.cpuCount)
        reclaimer = RcuReclaimer(pool: context.mm.pool, timeBase: context.timeBase)
        failRate = min(max(context.options.batchFailRate, 0), 1)
        ptReclaim = context.options.ptReclaim
        gather = Locked(Gather(batch: nil, rng: SplitMix64(seed: seed)))
        allCPUs = Array(0..<context.cpuCount)
        readers = PerCPUCounters(cpuCount: context.cpuCount)
    }

    /// Called on CPU `cpu`'s thread once it is registered with the flavour.
    func noteReader(cpu: Int) {
        readers[cpu].store(Int(bitPattern: UInt(bitPattern: Flavour.readerCounter())), ordering: .relaxed)
    }

    func forgetReader(cpu: Int) { readers[cpu].store(0, ordering: .relaxed) }

    /// Forced schedules: the sync-IPI fallback waiting on a walker with interrupts off, or a queued
    /// batch whose grace period the walker holds up.
    func freeHeldBack(walker: Int, writer: Int) -> String? {
        if let ipi = interrupts.ackHeldBack(target: walker, sender: writer) { return ipi }
        let queued = reclaimer.batchesQueued.load(ordering: .relaxed)
        let address = UInt(bitPattern: readers[walker].load(ordering: .relaxed))
        guard queued > 0, let counter = UnsafeMutablePointer<UInt>(bitPattern: address),
              let why = Flavour.holdsGracePeriods(counter) else { return nil }
        return "\(queued) call_rcu batch\(queued == 1 ? "" : "es") queued; \(why) (CPU \(walker))"
    }

    deinit {
        // A batch never submitted: no walker of this strategy can still run (each holds a reference to
        // it), so its tables go straight back.
        if let b = gather.withLock({ g in g.batch.take() }) {
            reclaimer.reclaim(b.pointer, afterGracePeriod: false)
        }
    }

    /// tlb_remove_table.
    func retire(_ table: TableIndex, cpu: Int) {
        let outcome = gather.withLock { g -> RcuRetireOutcome in
            if g.batch == nil {
                // __get_free_page(GFP_NOWAIT | __GFP_NOWARN) failed.
                if failRate > 0 && g.rng.unit() < failRate { return .noBatch }
                g.batch = reclaimer.allocateBatch()
            }
            let b = g.batch!.pointer
            wb_rcu_table_batch_tables(b)![Int(b.pointee.count)] = table.raw
            b.pointee.count += 1
            guard b.pointee.count < WB_MAX_TABLE_BATCH else {
                g.batch = nil
                return .full(RcuBatchRef(pointer: b))
            }
            return .added
        }
        switch outcome {
        case .added: break
        case .full(let b): submit(b)  // tlb_table_flush from tlb_remove_table: the batch is full
        case .noBatch where ptReclaim: retireDeferred(table)  // __tlb_remove_table_one_rcu: the page's own rcu_head
        case .noBatch: removeTableOne(table, cpu: cpu)
        }
    }

    /// pte_free_defer: one table, its own call_rcu, whatever the gather holds; it cannot fail (the
    /// kernel uses the table page's own rcu_head), so there is no fallback.
    func retireDeferred(_ table: TableIndex) {
        let b = reclaimer.allocateBatch()
        wb_rcu_table_batch_tables(b.pointer)![0] = table.raw
        b.pointer.pointee.count = 1
        submit(b)
    }

    /// tlb_table_flush at the end of the gather (tlb_finish_mmu): one call_rcu for the whole batch.
    func flush() {
        if let b = takeBatch() { submit(b) }
    }

    /// rcu_barrier, after submitting whatever is still gathered: every retired table is freed on return.
    func drain() {
        flush()
        Flavour.barrier()
    }

    var counters: UpdaterCounters {
        UpdaterCounters(ipisSent: interrupts.ipisSent, gracePeriods: reclaimer.gracePeriods.withLock { $0 })
    }

    func resetCounters() {
        interrupts.resetCounters()
        reclaimer.gracePeriods.withLock { $0.reset() }
    }

    private func takeBatch() -> RcuBatchRef? {
        gather.withLock { g in g.batch.take() }
    }

    private func submit(_ b: RcuBatchRef) {
        reclaimer.batchesQueued.wrappingAdd(1, ordering: .relaxed)
        b.pointer.pointee.submitted = reclaimer.timeBase.now()
        Flavour.callRcu(wb_rcu_table_batch_head(b.pointer)!, rcuTableBatchCallback)
    }

    /// tlb_remove_table_one: tlb_remove_table_sync_one (smp_call_function with an empty handler and
    /// wait=1), then the free, with no grace period. It waits out IRQ-off walkers only: a walker that
    /// merely holds rcu_read_lock acks from its handler at once.
    private func removeTableOne(_ table: TableIndex, cpu: Int) {
        interrupts.interruptAndWait(allCPUs, from: cpu)
        reclaimer.pool.free(table)
    }
}
