#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Synchronization

/// A litmus test of the counted-walker protocol (the 2019 powerpc series "count lockless
/// page-table walkers"), run on the project's own page table and judged by the project's own oracle.
///
/// The protocol is a store-buffering (SB) pattern between a walker and a freer:
/// ```
/// walker                                   freer
///   count = 1        (publish)               pmd = empty         (unlink, pmd_clear)
///   smp_mb()                                 smp_mb()
///   e = pmd; read *e (the PTE table)         if count == 0 { free(table) } else { wait for 0; free }
///   ... window ...
///   count = 0        (unpublish)
/// ```
/// With both fences at least one side sees the other's store: either the walker sees the empty pmd
/// and does not follow it, or the freer sees the count and waits. Drop the walker's fence and both
/// loads may run before either store is visible: the walker follows the old pmd while the freer
/// reads count 0 and frees the table the walker is about to read. The walker's oracle (`OracleOn`)
/// then sees the table's generation move (or reads poison) inside its window: one use-after-free,
/// exactly as a strategy's walk would count it.
///
/// **Why the broken variant publishes with a plain store (x86).** x86 (TSO) lets only one reordering
/// happen: a store followed by a load of another address, because the store can wait in the store
/// buffer while the load is served. A locked read-modify-write (`lock inc`, `lock xadd`: what an atomic
/// increment compiles to, even with relaxed ordering) drains the store buffer and is a full barrier,
/// so "atomic_inc without smp_mb" is already correct on x86 and cannot show the bug. The bug is real
/// on x86 only when the walker publishes with a plain store: a per-CPU counter bumped like
/// `this_cpu_inc` (a non-locked increment of a CPU-local word) or a flag store. So:
/// - `plainStoreNoFence`: the missing-barrier bug. A relaxed store (a plain `mov`) of 1 to the
///   walker's counter word, then the pmd load with no fence between them.
/// - `plainStoreThenFence`: the per-CPU counted walker done right: the same store, then `smp_mb()`.
/// - `atomicIncrementThenFence`: the counted walker of the series (atomic_inc + smp_mb, as Hubbard's
///   register_lockless_pgtable_walker): a locked increment, then the fence.
/// The tests add a control that is not part of the API: `atomicIncrementThenFence` with the walker's
/// fence dropped (`Tuning.dropWalkerFence`), atomic_inc without smp_mb, which x86 must not show.
/// (In a release build the seq_cst fence is `lock or` on the stack and the relaxed store a plain `mov`
/// right before the pmd load: the compiler keeps program order, the reordering is the CPU's.)
///
/// **Making a few-nanosecond window observable.** Each round both threads are released together by a
/// shared round counter, each waits a small random number of `pause`s, then runs its critical
/// sequence, so the two sequences overlap often. Before the critical part the walker touches the pmd
/// line and the freer the counter line, so the walker's load hits in its cache while its store has to
/// fetch the counter line for ownership and waits in the store buffer meanwhile (the common case in a
/// kernel too: the pmd is hot, another CPU has just read the counter). The walker then stays in its
/// window ~1.8 µs, so a free that raced lands inside it. A second handshake makes
/// the freer link a fresh table only after the walker has left the round, so the walker never reads
/// a table that is being re-initialised.
///
/// Measured on a 2-vCPU AMD EPYC KVM guest: a debug build runs ~120,000 rounds/s and caught the
/// missing-barrier variant in 14 to ~1,000 rounds per million depending on the run (the rate moves with
/// where the host runs the two vCPUs), first after 6 to ~58,000 rounds (< 0.6 s); a release build runs
/// ~800,000 rounds/s and caught it in ~1.4 % of rounds. The fenced variants, and an atomic increment
/// without the fence, showed none in 1,000,000 rounds ("not observed", which is what x86 predicts).
///
/// **Reading the result.** A detection is a proof that the variant is unsafe on this machine. A
/// bounded run that detects nothing proves nothing: report it as "not observed in N rounds", never
/// as SAFE. (The fenced variants are safe by the SB argument above, not by this test.)
public enum StoreBufferLitmus {
    /// How the walker announces itself before it reads the pmd.
    public enum Publish: String, CaseIterable, Sendable {
        /// The missing-barrier bug: a relaxed store of 1 to the walker's own counter word (a plain `mov`,
        /// like this_cpu_inc), no fence before the pmd load.
        case plainStoreNoFence
        /// Counted, per-CPU: the same relaxed store, then a sequentially consistent fence (smp_mb).
        case plainStoreThenFence
        /// Counted: `wrappingAdd(1, .relaxed)` on the counter (atomic_inc, a locked RMW), then a
        /// sequentially consistent fence (smp_mb).
        case atomicIncrementThenFence
    }

    public struct Result: Sendable {
        /// Rounds both threads completed.
        public var rounds: Int
        /// Rounds in which the walker's oracle saw the table it followed freed under it.
        public var useAfterFree: Int
        /// Wall-clock seconds the rounds took.
        public var seconds: Double

        public init(rounds: Int, useAfterFree: Int, seconds: Double) {
            self.rounds = rounds
            self.useAfterFree = useAfterFree
            self.seconds = seconds
        }
    }

    /// Runs up to `maxRounds` rounds or `maxSeconds`, whichever first; stops early after `stopAfter` detections (nil: never).
    public static func run(_ publish: Publish, maxRounds: Int, maxSeconds: Double, stopAfter: Int? = 1, seed: UInt64 = 1) throws -> Result {
        try runDetailed(publish, maxRounds: maxRounds, maxSeconds: maxSeconds, stopAfter: stopAfter, seed: seed).result
    }

    // MARK: Internals

    /// The knobs that decide how often the two critical sequences overlap. The same for every variant:
    /// the only difference between variants is the publish.
    struct Tuning: Sendable {
        /// Each thread waits `0..<delaySpread` pauses after the release before its critical sequence.
        /// The reordering shows only when the two critical sequences start within about ±75 ns of each
        /// other; a `pause` is ~28 ns on the EPYC KVM guest this was tuned on, so 16 spreads the start
        /// difference over about ±450 ns, around the ~100-300 ns the release takes to reach the walker.
        var delaySpread: UInt64 = 16
        /// Pauses the walker spends in its window after reading the PTE entry, before the oracle check:
        /// ~1.8 µs, longer than the freer takes from reading the count to bumping the generation in a
        /// debug build, so a free that raced is seen.
        var windowPauses: Int = 64
        /// Leaf entries written into each fresh PTE table (the walker reads one of them).
        var leaves: Int = 4
        /// Test control only: the walker skips its smp_mb() whatever the publish. With
        /// `atomicIncrementThenFence` this is atomic_inc without smp_mb, which x86's locked RMW keeps
        /// correct; with `plainStoreThenFence` it is `plainStoreNoFence` again.
        var dropWalkerFence = false
    }

    /// What a run saw besides its result: for tuning and for the tests' messages.
    struct Detail: Sendable {
        var result: Result
        /// Rounds in which the walker found the pmd still linked and followed it.
        var walkerFollowed: Int
        /// Rounds in which the freer read a non-zero count and waited for the walker.
        var freerWaited: Int
        /// The round of the first detection (1-based), or nil.
        var firstDetectionRound: Int?
        /// Nil when both threads were pinned to different CPUs, else why not.
        var pinning: String?
    }

    /// The shared words, each on its own 128-byte line (two 64-byte lines: the adjacent-line
    /// prefetcher fetches pairs), so the only line both critical sequences touch is the one that matters.
    final class Shared: @unchecked Sendable {
        // @unchecked Sendable: atomics only, plus the error box behind a mutex.
        static let line = 128
        static let lines = 5
        let base: UnsafeMutableRawPointer
        /// The walker's counter word (this CPU's lockless-walker count).
        let count: UnsafeMutablePointer<Atomic<Int>>
        /// Freer → walker: the round to run; `stopRound` to leave.
        let go: UnsafeMutablePointer<Atomic<Int>>
        /// Walker → freer: the last round the walker finished.
        let done: UnsafeMutablePointer<Atomic<Int>>
        /// Walker's tallies: detections, rounds it followed the pmd, first detection round.
        let detections: UnsafeMutablePointer<Atomic<Int>>
        let followed: UnsafeMutablePointer<Atomic<Int>>
        let firstDetection: UnsafeMutablePointer<Atomic<Int>>
        /// Freer's tallies, read after join.
        let rounds: UnsafeMutablePointer<Atomic<Int>>
        let waited: UnsafeMutablePointer<Atomic<Int>>
        let error = Locked<(any Error)?>(nil)
        let pinning = Locked<String?>(nil)

        static let stopRound = -1

        init() {
            let block = UnsafeMutableRawPointer.allocate(byteCount: Self.line * Self.lines, alignment: Self.line)
            base = block
            func word(_ line: Int, _ index: Int = 0) -> UnsafeMutablePointer<Atomic<Int>> {
                let p = (block + line * Self.line + index * 8).bindMemory(to: Atomic<Int>.self, capacity: 1)
                p.initialize(to: Atomic(0))
                return p
            }
            count = word(0)
            go = word(1)
            done = word(2)
            detections = word(3, 0)
            followed = word(3, 1)
            firstDetection = word(3, 2)
            rounds = word(4, 0)
            waited = word(4, 1)
        }

        deinit { base.deallocate() }

        func fail(_ e: any Error) { error.withLock { if $0 == nil { $0 = e } } }
        func notePinning(_ why: String) { pinning.withLock { $0 = ($0.map { $0 + "; " } ?? "") + why } }
    }

    static func runDetailed(_ publish: Publish, maxRounds: Int, maxSeconds: Double, stopAfter: Int?, seed: UInt64,
                            tuning: Tuning = Tuning()) throws -> Detail {
        precondition(maxRounds >= 0 && maxSeconds >= 0, "maxRounds and maxSeconds must not be negative")
        precondition(stopAfter.map { $0 > 0 } ?? true, "stopAfter must be positive or nil")
        precondition(tuning.delaySpread > 0 && tuning.windowPauses >= 0 && tuning.leaves > 0)

        // The memory: one densely mapped 2 MiB chunk, so there is one PTE table under one pmd entry.
        let geometry = Geometry.x86_64_4level
        let chunk = geometry.pteTableCoverage
        let mm = try AddressSpace(geometry: geometry, mappedBytes: chunk)
        let vmaStart: UInt64 = 1 << 30  // any chunk-aligned address
        mm.addVMA(vmaStart..<(vmaStart + chunk))
        let pmdLevel = geometry.hugeLevel
        let pteLevel = mm.lastLevel
        let pmdSlot = mm.math.index(vmaStart, level: pmdLevel)
        let pmdTable: TableIndex = try mm.lock.withWriteLock {
            var rng = SplitMix64(seed: seed)
            try mm.populate(vmaStart..<(vmaStart + chunk), density: 1, hugeFraction: 0, rng: &rng)
            guard let t = try mm.table(at: pmdLevel, for: vmaStart, create: false),
                  mm.pool.load(t, pmdSlot).isTable else {
                preconditionFailure("populate left no PTE table under the pmd")
            }
            return t
        }
        // The address the walker looks up: its PTE entry is one of the `leaves` the freer refills.
        let address = vmaStart + UInt64(tuning.leaves - 1) * geometry.pageSize
        let pteSlot = mm.math.index(address, level: pteLevel)
        let pteBytes = geometry.levels[pteLevel].entries * 8

        let shared = Shared()
        let cpus = CPUThread.allowedCPUs
        let walkerCPU: Int? = cpus.count >= 2 ? cpus[0] : nil
        let freerCPU: Int? = cpus.count >= 2 ? cpus[1] : nil
        if cpus.count < 2 { shared.notePinning("unpinned: only \(cpus.count) CPU allowed, no two CPUs to reorder between") }
        let deadlineNs = TimeBase.monotonicNanoseconds() &+ UInt64(maxSeconds * 1e9)
        let stopAt = stopAfter ?? Int.max

        let walker = try CPUThread {
            if let cpu = walkerCPU, let why = CPUThread.pinCurrent(to: cpu) { shared.notePinning("walker: \(why)") }
            walkerLoop(publish, shared: shared, memory: mm.pool.memory, pool: mm.pool, pmdTable: pmdTable, pmdSlot: pmdSlot,
                       pteSlot: pteSlot, tuning: tuning, seed: seed &+ 0x5741_4C4B)
        }
        let start = TimeBase.monotonicNanoseconds()
        let freer: CPUThread
        do {
            freer = try CPUThread {
                if let cpu = freerCPU, let why = CPUThread.pinCurrent(to: cpu) { shared.notePinning("freer: \(why)") }
                do {
                    try freerLoop(shared: shared, mm: mm, pmdTable: pmdTable, pmdSlot: pmdSlot, address: address,
                                  pteBytes: pteBytes, maxRounds: maxRounds, deadlineNs: deadlineNs, stopAt: stopAt,
                                  tuning: tuning, seed: seed &+ 0x4652_4545)
                } catch {
                    shared.fail(error)
                }
                // Release the walker from its wait, whatever happened.
                shared.go.pointee.store(Shared.stopRound, ordering: .releasing)
            }
        } catch {
            shared.go.pointee.store(Shared.stopRound, ordering: .releasing)
            walker.join()
            throw error
        }
        freer.join()
        walker.join()
        let end = TimeBase.monotonicNanoseconds()
        if let e = shared.error.withLock({ $0 }) { throw e }

        let first = shared.firstDetection.pointee.load(ordering: .relaxed)
        return Detail(
            result: Result(rounds: shared.rounds.pointee.load(ordering: .relaxed),
                           useAfterFree: shared.detections.pointee.load(ordering: .relaxed),
                           seconds: Double(end &- start) / 1e9),
            walkerFollowed: shared.followed.pointee.load(ordering: .relaxed),
            freerWaited: shared.waited.pointee.load(ordering: .relaxed),
            firstDetectionRound: first == 0 ? nil : first,
            pinning: shared.pinning.withLock { $0 })
    }

    /// Spins `n` pauses (cpu_relax).
    @inline(__always)
    static func pause(_ n: UInt64) {
        var i: UInt64 = 0
        while i < n {
            wb_cpu_relax()
            i &+= 1
        }
    }

    /// Waits until `word` (acquire) satisfies `ready`; yields the CPU now and then, in case both
    /// threads share one.
    @inline(__always)
    static func spin(_ word: UnsafeMutablePointer<Atomic<Int>>, until ready: (Int) -> Bool) -> Int {
        var spins = 0
        while true {
            // Acquire: pairs with the other side's release store of this word; what it wrote before
            // (a fresh table, the end of a walk) is visible after.
            let v = word.pointee.load(ordering: .acquiring)
            if ready(v) { return v }
            wb_cpu_relax()
            spins &+= 1
            if spins & 0x3FFF == 0 { sched_yield() }
        }
    }

    /// The walker: one lockless walk of one address per round, inside a counted window.
    static func walkerLoop(_ publish: Publish, shared: Shared, memory: TableMemory, pool: TablePool,
                           pmdTable: TableIndex, pmdSlot: Int, pteSlot: Int, tuning: Tuning, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var log = OracleOn(pool: pool, capacity: 4)
        defer { log.release() }
        let count = shared.count
        let fence = !tuning.dropWalkerFence
        var round = 0
        var detections = 0
        var followedRounds = 0
        while true {
            let go = spin(shared.go) { $0 == Shared.stopRound || $0 > round }
            if go == Shared.stopRound { break }
            round = go
            // Warm the pmd line (a hot pmd, as in a real walk); the value is not used.
            wb_consume(memory.load(pmdTable, pmdSlot).raw)
            pause(rng.below(tuning.delaySpread))

            // begin_lockless_pgtbl_walk()
            switch publish {
            case .plainStoreNoFence:
                // this_cpu_inc() / WRITE_ONCE(flag, 1): a plain `mov`, which may wait in the store buffer...
                count.pointee.store(1, ordering: .relaxed)
                // ...and no smp_mb(): the bug. The pmd load below may be served before the store is visible.
            case .plainStoreThenFence:
                // this_cpu_inc() / WRITE_ONCE(flag, 1): a plain `mov`.
                count.pointee.store(1, ordering: .relaxed)
                // smp_mb(): a full fence (`lock or` on the stack, as LLVM emits it on x86); pairs with the freer's smp_mb().
                if fence { atomicMemoryFence(ordering: .sequentiallyConsistent) }
            case .atomicIncrementThenFence:
                // atomic_inc(&mm->lockless_pgtbl_walkers): `lock xadd`, already a full barrier on x86.
                count.pointee.wrappingAdd(1, ordering: .relaxed)
                // smp_mb() (smp_mb__after_atomic in the series); pairs with the freer's smp_mb().
                if fence { atomicMemoryFence(ordering: .sequentiallyConsistent) }
            }

            log.begin()
            // READ_ONCE(*pmdp): relaxed; the PTE table is reached through the loaded index (an address
            // dependency), as in the kernel's lockless walkers.
            let pmd = memory.load(pmdTable, pmdSlot)
            var readFreed = false
            if pmd.isTable {
                followedRounds &+= 1
                let pte = pmd.tableIndex
                log.followed(pte, linkedAt: pmd.generation)
                // READ_ONCE(*ptep): the dereference the protocol must keep safe.
                let e = memory.load(pte, pteSlot)
                if e.isPoison { log.sawPoison() }
                wb_consume(e.raw)
                // Stay in the window a little (the rest of a walk), so a racing free lands inside it.
                pause(UInt64(tuning.windowPauses))
                // The oracle's check, inside the window: after the last table read, before unpublishing.
                readFreed = log.readFreedTable()
            }

            // end_lockless_pgtbl_walk(): release, so every read of the walk is done before the freer can
            // see the count drop (smp_mb(); this_cpu_dec() / atomic_dec_return_release()).
            switch publish {
            case .plainStoreNoFence, .plainStoreThenFence:
                count.pointee.store(0, ordering: .releasing)
            case .atomicIncrementThenFence:
                count.pointee.wrappingSubtract(1, ordering: .releasing)
            }

            if readFreed {
                detections &+= 1
                // Relaxed tallies: published to the freer by the release store of `done` below.
                shared.detections.pointee.store(detections, ordering: .relaxed)
                if detections == 1 { shared.firstDetection.pointee.store(round, ordering: .relaxed) }
            }
            // Release: the round is over (tallies above included); the freer may now relink.
            shared.done.pointee.store(round, ordering: .releasing)
        }
        shared.followed.pointee.store(followedRounds, ordering: .relaxed)  // read after join
    }

    /// The freer: per round, unlink the PTE table, make sure no walker is counted, free it; then link
    /// a fresh one for the next round. Holds the mm's write lock for the whole round, as munmap does.
    static func freerLoop(shared: Shared, mm: AddressSpace, pmdTable: TableIndex, pmdSlot: Int, address: UInt64,
                          pteBytes: Int, maxRounds: Int, deadlineNs: UInt64, stopAt: Int, tuning: Tuning, seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let pool = mm.pool
        let lock = mm.lock
        let count = shared.count
        let leafSlot0 = mm.math.index(address, level: mm.lastLevel) - (tuning.leaves - 1)
        let firstFrame = (address >> UInt64(mm.geometry.pageShift)) - UInt64(tuning.leaves - 1)
        var waited = 0
        var round = 0
        while round < maxRounds {
            if round & 0xFF == 0 && TimeBase.monotonicNanoseconds() >= deadlineNs { break }
            round &+= 1
            lock.writeLock()
            defer { lock.writeUnlock() }
            // The PTE table this round will free (linked by set-up or by the previous round).
            let pmd = pool.load(pmdTable, pmdSlot)
            precondition(pmd.isTable, "round \(round): the pmd is not linked")
            let table = pmd.tableIndex
            // Warm the counter line: it is now shared, so the walker's store must fetch it for ownership.
            wb_consume(UInt64(bitPattern: Int64(count.pointee.load(ordering: .relaxed))))

            // Release: go. Pairs with the walker's acquire load; the fresh table is visible after it.
            shared.go.pointee.store(round, ordering: .releasing)
            pause(rng.below(tuning.delaySpread))

            // pmd_clear(): WRITE_ONCE(*pmdp, 0).
            pool.storeRelaxed(pmdTable, pmdSlot, .empty)
            // smp_mb(): the unlink is visible before the count is read; pairs with the walker's smp_mb().
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            // READ_ONCE / atomic_read of the walker count (serialize_against_pte_lookup skips the IPI at 0).
            if count.pointee.load(ordering: .relaxed) != 0 {
                waited &+= 1
                // Wait for the walker to leave; acquire pairs with its release in end_lockless_pgtbl_walk.
                _ = spin(count) { $0 == 0 }
            }
            // tlb_remove_table → free: bumps the generation and poisons the page.
            pool.noteRetired(table, bytes: pteBytes)
            pool.free(table)

            // Second handshake: the walker has left this round before a fresh table is linked.
            _ = spin(shared.done) { $0 >= round }
            // Acquire above makes the walker's tallies visible.
            if shared.detections.pointee.load(ordering: .relaxed) >= stopAt { break }
            // pte_alloc_one + set_pte_at of a few leaves, then pmd_populate: release is the smp_wmb()
            // before set_pmd, so the walker never follows the link into an unfilled table.
            let fresh = try pool.allocate()
            for i in 0..<tuning.leaves {
                pool.storeRelaxed(fresh, leafSlot0 + i, .leaf(frame: firstFrame + UInt64(i)))
            }
            pool.adjustLiveCount(fresh, by: tuning.leaves)
            pool.storeRelease(pmdTable, pmdSlot, .table(fresh, generation: pool.generation(fresh)))
        }
        shared.rounds.pointee.store(round, ordering: .relaxed)  // read after join
        shared.waited.pointee.store(waited, ordering: .relaxed)
    }
}
