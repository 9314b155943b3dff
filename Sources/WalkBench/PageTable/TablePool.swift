#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Histogram
import Synchronization

/// Raw memory for table pages: no object per table.
///
/// One anonymous NORESERVE mapping is reserved up front and the kernel backs it as tables are touched,
/// so a sparse terabyte costs only the tables it uses while an index turns into a pointer with one
/// multiply, no directory load. Every slot is as big as the geometry's largest table.
///
/// Per table the pool also keeps a generation (bumped at free; the oracle's clock) and a count of present
/// entries (writer-side bookkeeping, read only under the mm's write lock).
public final class TablePool: @unchecked Sendable {
    // @unchecked Sendable: entries and generations are atomics; liveCounts is touched only by the
    // serialized writers; the free list is behind a mutex.
    public let slotEntries: Int
    public let capacity: Int
    @usableFromInline let entries: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let generations: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let liveCounts: UnsafeMutablePointer<UInt32>
    /// One spinlock per table slot (the split PTE lock).
    public let pteLocks: PTELocks
    private let pteLockBytes: Int
    private let arenaBytes: Int
    private let generationBytes: Int
    private let liveBytes: Int

    private struct FreeList {
        var recycled: [UInt32] = []
        var neverUsed: UInt32 = 0
    }
    private let freeList = Locked(FreeList())

    /// When each pending table was retired and how big it really is (its level's size, not the slot's).
    private struct RetireRecord {
        var tick: UInt64
        var bytes: Int
    }
    private let retired: UnsafeMutablePointer<RetireRecord>
    private let retiredBytes: Int
    private let clock: TimeBase?
    private let writerWait = Locked(Histogram<UInt64>(highestTrackableValue: 1 << 46, numberOfSignificantValueDigits: .three))
    private let pendingBytes = Atomic<Int>(0)
    private let pendingBytesPeak = Atomic<Int>(0)

    /// Per simulated CPU, 1 while its walker is inside a window with the oracle on (the oracle sets and
    /// clears it), so each free can tell whether a walk was open on another CPU at that moment: the
    /// frees that could have gone wrong, which stress runs report. A statistic (relaxed loads), not a check.
    private let openWindows: UnsafeMutablePointer<Atomic<UInt32>>
    static let windowStride = 128 / MemoryLayout<Atomic<UInt32>>.stride
    private let openWindowBytes = CPUMask.maxCPUs * 128
    /// How many CPUs' flags a free looks at (the runner sets it; 0 looks at none).
    public let watchedCPUs = Atomic<Int>(0)
    private let freedDuringWalksCount = Atomic<Int>(0)

    private let allocatedCount = Atomic<Int>(0)
    private let freedCount = Atomic<Int>(0)
    private let pendingCount = Atomic<Int>(0)
    private let pendingPeak = Atomic<Int>(0)

    /// In an AddressSanitizer build with WALKBENCH_ASAN_POISON=1, freed tables are also poisoned for
    /// ASan (and unpoisoned when reused), so ASan checks the oracle independently: any read of a freed
    /// table, seen or missed by the oracle, is a report. Only for runs of strategies that promise
    /// safety: the broken ones read freed tables on purpose.
    public static let poisonsFreedTablesForASan: Bool = {
        wb_asan_enabled() != 0 && getenv("WALKBENCH_ASAN_POISON").map { String(cString: $0) == "1" } == true
    }()

    /// Whether new pools ask for transparent huge pages (`--arena-hugepages`; process-wide, set before a run).
    public static let hugePages = Atomic<Bool>(true)

    /// - Parameter clock: times retire-to-free waits; nil records none.
    public init(slotEntries: Int, capacity: Int, clock: TimeBase? = nil) throws {
        precondition(slotEntries > 0 && capacity > 0 && capacity < Int(UInt32.max))
        self.slotEntries = slotEntries
        self.capacity = capacity
        arenaBytes = slotEntries * 8 * capacity
        generationBytes = 4 * capacity
        liveBytes = 4 * capacity
        entries = try Self.reserve(arenaBytes).bindMemory(to: Atomic<UInt64>.self, capacity: slotEntries * capacity)
        generations = try Self.reserve(generationBytes).bindMemory(to: Atomic<UInt32>.self, capacity: capacity)
        liveCounts = try Self.reserve(liveBytes).bindMemory(to: UInt32.self, capacity: capacity)
        pteLockBytes = 4 * capacity
        pteLocks = PTELocks(words: try Self.reserve(pteLockBytes).bindMemory(to: Atomic<UInt32>.self, capacity: capacity))
        retiredBytes = MemoryLayout<RetireRecord>.stride * capacity
        retired = try Self.reserve(retiredBytes).bindMemory(to: RetireRecord.self, capacity: capacity)
        openWindows = try Self.reserve(openWindowBytes).bindMemory(to: Atomic<UInt32>.self, capacity: CPUMask.maxCPUs * Self.windowStride)
        self.clock = clock
        if Self.hugePages.load(ordering: .relaxed) {
            // The kernel reads page tables through its huge-page direct map; asking for THP here gives the
            // walks the same few TLB entries. Advice, not a promise: failure leaves 4 KiB pages.
            _ = madvise(UnsafeMutableRawPointer(entries), arenaBytes, MADV_HUGEPAGE)
            _ = madvise(UnsafeMutableRawPointer(generations), generationBytes, MADV_HUGEPAGE)
        }
        // Anonymous memory is zero: every entry starts empty and every generation at 0,
        // which is the bit pattern of Atomic(0).
    }

    deinit {
        // Shadow memory outlives the mapping: leave none of it poisoned for whoever maps here next.
        if Self.poisonsFreedTablesForASan { wb_asan_unpoison(UnsafeMutableRawPointer(entries), arenaBytes) }
        munmap(openWindows, openWindowBytes)
        munmap(entries, arenaBytes)
        munmap(generations, generationBytes)
        munmap(liveCounts, liveBytes)
        munmap(retired, retiredBytes)
        munmap(pteLocks.words, pteLockBytes)
    }

    private static func reserve(_ bytes: Int) throws -> UnsafeMutableRawPointer {
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw SystemCallError(call: "mmap(\(bytes) bytes)", errno: errno) }
        return p
    }

    // MARK: Reader side (hot)

    /// The pool's memory as a value: walkers keep this in registers instead of reloading the class's fields.
    public var memory: TableMemory { TableMemory(entries: entries, slotEntries: slotEntries, generations: generations) }

    @inline(__always)
    public func table(_ index: TableIndex) -> UnsafeMutablePointer<Atomic<UInt64>> { memory.table(index) }

    @inline(__always)
    public func load(_ index: TableIndex, _ slot: Int) -> Entry { memory.load(index, slot) }

    @inline(__always)
    public func generation(_ index: TableIndex) -> UInt32 { memory.generation(index) }

    // MARK: Writer side

    /// WRITE_ONCE of one entry that no walker can have followed yet, or a clear (pte_clear, pmd_clear).
    @inline(__always)
    public func storeRelaxed(_ index: TableIndex, _ slot: Int, _ entry: Entry) {
        table(index)[slot].store(entry.raw, ordering: .relaxed)
    }

    /// Publishes an entry that points at freshly initialised memory (pmd_populate after the table was
    /// zeroed and filled): release, the smp_wmb() before set_pmd in the kernel.
    @inline(__always)
    public func storeRelease(_ index: TableIndex, _ slot: Int, _ entry: Entry) {
        table(index)[slot].store(entry.raw, ordering: .releasing)
    }

    public func liveCount(_ index: TableIndex) -> Int { Int(liveCounts[index.int]) }
    func adjustLiveCount(_ index: TableIndex, by delta: Int) {
        liveCounts[index.int] = UInt32(Int(liveCounts[index.int]) + delta)
    }

    /// A zeroed table (pte_alloc_one). Throws when the pool is exhausted.
    public func allocate() throws(PoolExhausted) -> TableIndex {
        let index: UInt32? = freeList.withLock { list in
            if let i = list.recycled.popLast() { return i }
            guard Int(list.neverUsed) < capacity else { return nil }
            defer { list.neverUsed += 1 }
            return list.neverUsed
        }
        guard let index else { throw PoolExhausted(capacity: capacity) }
        let t = TableIndex(raw: index)
        let base = table(t)
        if Self.poisonsFreedTablesForASan { wb_asan_unpoison(UnsafeMutableRawPointer(base), slotEntries * 8) }
        for i in 0..<slotEntries { base[i].store(0, ordering: .relaxed) }
        liveCounts[t.int] = 0
        allocatedCount.wrappingAdd(1, ordering: .relaxed)
        return t
    }

    /// Bookkeeping for a table the writer has unlinked and handed to its protection strategy.
    /// `bytes` is the table's real size (its level's entries × 8), whatever the slot size.
    public func noteRetired(_ index: TableIndex, bytes: Int) {
        // Written before the table is handed over; read by whoever frees it, after the hand-over.
        retired[index.int] = RetireRecord(tick: clock?.now() ?? 0, bytes: bytes)
        wb_event_add(WB_EVENT_TABLES_RETIRED, 1)
        wb_event_add(WB_EVENT_TABLES_PENDING, 1)
        Self.raisePeak(pendingPeak, to: pendingCount.wrappingAdd(1, ordering: .relaxed).newValue)
        Self.raisePeak(pendingBytesPeak, to: pendingBytes.wrappingAdd(bytes, ordering: .relaxed).newValue)
    }

    private static func raisePeak(_ peak: borrowing Atomic<Int>, to now: Int) {
        var seen = peak.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peak.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    /// Frees a retired table: bumps its generation, poisons it, and makes it reusable at once.
    /// Whoever calls this asserts that no walker can still be reading the table; the oracle checks that.
    public func free(_ index: TableIndex) {
        // The bump must be visible before any poison store: a walker that reads poison (or a reused
        // page's contents) and then, after an acquire fence, the generation, must see the bump.
        generations[index.int].wrappingAdd(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        let base = table(index)
        for i in 0..<slotEntries { base[i].store(Entry.poison.raw, ordering: .relaxed) }
        if Self.poisonsFreedTablesForASan { wb_asan_poison(UnsafeMutableRawPointer(base), slotEntries * 8) }
        freedCount.wrappingAdd(1, ordering: .relaxed)
        let watched = watchedCPUs.load(ordering: .relaxed)
        for cpu in 0..<watched where openWindows[cpu &* Self.windowStride].load(ordering: .relaxed) != 0 {
            freedDuringWalksCount.wrappingAdd(1, ordering: .relaxed)
            break
        }
        pendingCount.wrappingSubtract(1, ordering: .relaxed)
        wb_event_add(WB_EVENT_TABLES_FREED, 1)
        wb_event_add(WB_EVENT_TABLES_PENDING, -1)
        let record = retired[index.int]
        pendingBytes.wrappingSubtract(record.bytes, ordering: .relaxed)
        if let clock, record.tick != 0 {
            let waited = clock.now() &- record.tick
            _ = writerWait.withLock { $0.record(waited) }
        }
        freeList.withLock { $0.recycled.append(index.raw) }
    }

    // MARK: Accounting

    /// Tables allocated and not yet freed (linked, or retired and pending).
    public var liveTables: Int { allocatedCount.load(ordering: .relaxed) - freedCount.load(ordering: .relaxed) }
    public var tablesFreed: Int { freedCount.load(ordering: .relaxed) }
    /// Frees during which some watched CPU had a walk window open.
    public var tablesFreedDuringWalks: Int { freedDuringWalksCount.load(ordering: .relaxed) }
    /// The flag the oracle of CPU `cpu` raises while its walk window is open.
    public func openWindowFlag(cpu: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        precondition(cpu >= 0 && cpu < CPUMask.maxCPUs)
        return openWindows + cpu &* Self.windowStride
    }
    public var tablesPending: Int { pendingCount.load(ordering: .relaxed) }
    public var tablesPendingPeak: Int { pendingPeak.load(ordering: .relaxed) }

    public var bytesPendingPeak: Int { pendingBytesPeak.load(ordering: .relaxed) }

    /// Starts a fresh measurement window: pending peaks restart from what is pending now, the
    /// retire-to-free histogram from empty.
    public func resetMeasurement() {
        pendingPeak.store(pendingCount.load(ordering: .relaxed), ordering: .relaxed)
        pendingBytesPeak.store(pendingBytes.load(ordering: .relaxed), ordering: .relaxed)
        writerWait.withLock { $0.reset() }
    }

    /// Retire-to-free waits (clock ticks) since the last reset.
    public var writerWaits: Histogram<UInt64> { writerWait.withLock { $0 } }
}

/// Where the tables are, for the hot path: three words, no reference counting.
public struct TableMemory: @unchecked Sendable {
    // @unchecked Sendable: points into the pool's atomics, which outlive every walk.
    public let entries: UnsafeMutablePointer<Atomic<UInt64>>
    public let slotEntries: Int
    public let generations: UnsafeMutablePointer<Atomic<UInt32>>

    /// The first entry of table `index`.
    @inline(__always)
    public func table(_ index: TableIndex) -> UnsafeMutablePointer<Atomic<UInt64>> {
        entries + index.int &* slotEntries
    }

    /// READ_ONCE of one entry. Relaxed: the child table is reached through the loaded index, an address
    /// dependency, which is all the kernel's lockless walkers rely on (no acquire on x86 or arm64).
    @inline(__always)
    public func load(_ index: TableIndex, _ slot: Int) -> Entry {
        Entry(raw: table(index)[slot].load(ordering: .relaxed))
    }

    /// The table's current generation. Relaxed; callers that need it ordered after their table reads
    /// put an acquire fence first (see Oracle).
    @inline(__always)
    public func generation(_ index: TableIndex) -> UInt32 {
        generations[index.int].load(ordering: .relaxed)
    }
}

public struct PoolExhausted: Error, CustomStringConvertible {
    public let capacity: Int
    public var description: String { "table pool exhausted (\(capacity) tables); map less or raise the capacity" }
}
