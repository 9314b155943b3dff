import Synchronization

/// The mm: a page table rooted in a pool, the mapped regions (VMAs), the cpumask, the mmap_lock.
///
/// Writers change the table only under `lock`'s write side (see Mutations.swift); walkers read it
/// with no lock unless their strategy takes one.
public final class AddressSpace: @unchecked Sendable {
    // @unchecked Sendable: the table lives in the pool (atomics); `vmas` and live counts are written
    // only by writers holding `lock` for writing.
    public let geometry: Geometry
    public let math: LevelMath
    public let pool: TablePool
    public let root: TableIndex
    public let lock: MmapLock
    public let cpumask: CPUMask
    /// CPUs in lazy TLB mode on this mm: idle, the mm still loaded, skipped by flushes that free no table.
    public let lazyCPUs: CPUMask
    /// CPUs still in the cpumask that no longer have the mm loaded (CPUMaskPolicy.clearedLazily only):
    /// TLB-only flushes skip them until a trim.
    public let staleCPUs = CPUMask()
    /// PT_RECLAIM: MADV_DONTNEED frees the PTE tables it empties. Set before writers start.
    public var reclaimsEmptyPTETables = false
    /// The data pages leaves map: reference counts and generations (struct page's `_refcount`).
    public let pages: PageFrames
    /// Order of the folios PTE leaves map when populated (0: small pages; 4: 64 KiB mTHP with 4 KiB pages).
    /// Set before populating.
    public var pteFolioOrder = 0
    /// Pages unmapped whose references are dropped after the gather's flush (the mmu_gather's page
    /// batch): a walker the flush waits for still finds them mapped. Written under `lock` for writing.
    var gatheredPages: [UInt64] = []
    /// Collapses given up because a page held references beyond its mappings (a GUP reference):
    /// khugepaged's refcount check failing. Atomic: read while writers run.
    let collapsesRefusedCount = Atomic<Int>(0)
    public var collapsesRefused: Int { collapsesRefusedCount.load(ordering: .relaxed) }
    /// The mapped regions, fixed after set-up; walkers pick their addresses inside them.
    public private(set) var vmas: [Range<UInt64>] = []
    /// Present leaves (pte or huge) cleared by unmap so far; written only under `lock` for writing.
    var leavesCleared = 0

    /// - Parameter mappedBytes: how much the workload will map; sizes the pool (4× the tables a full
    ///   mapping needs, plus room for tables retired and not yet freed).
    /// - Parameter clock: times how long retired tables wait to be freed (nil: not timed).
    public init(geometry: Geometry, mappedBytes: UInt64, clock: TimeBase? = nil) throws {
        self.geometry = geometry
        self.math = geometry.math
        let needed = Self.tablesNeeded(geometry: geometry, bytes: mappedBytes)
        pool = try TablePool(slotEntries: geometry.maxEntriesPerTable, capacity: max(4 * needed, needed + 65_536), clock: clock)
        root = try pool.allocate()
        lock = try MmapLock()
        cpumask = CPUMask()
        lazyCPUs = CPUMask()
        pages = try PageFrames(frameBits: geometry.addressBits - geometry.pageShift)
    }

    /// Upper bound on the tables mapping `bytes` densely takes, counting partial tables at both ends.
    public static func tablesNeeded(geometry: Geometry, bytes: UInt64) -> Int {
        var total = 1
        for level in geometry.levels.dropFirst() {
            // Tables of this level each cover their parent entry's reach.
            let reach = level.coverage << UInt64(level.bits)
            total += Int((bytes + reach - 1) / reach) + 1
        }
        return total
    }

    public var lastLevel: Int { geometry.levels.count - 1 }

    /// What every flush does before it reads the cpumask: smp_mb (x86's inc_mm_tlb_gen is a full
    /// barrier), so the writer's unlink or leaf change is ordered before that read. It pairs with
    /// `switchIn`: either the flush sees the CPU's bit, or the CPU's next walk sees the change.
    public func beginFlush() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// switch_mm_irqs_off to this mm on `cpu`: its cpumask bit is set, then smp_mb (the CR3 write
    /// serializes) before the CPU reads any table.
    public func switchIn(cpu: Int) {
        cpumask.set(cpu)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Registers a mapped region (mmap without MAP_POPULATE): walkers may now pick addresses in it.
    public func addVMA(_ range: Range<UInt64>) {
        precondition(range.lowerBound % geometry.pageSize == 0 && range.upperBound % geometry.pageSize == 0, "VMA must be page aligned")
        precondition(range.upperBound <= geometry.addressSpaceSize, "VMA beyond the \(geometry.addressBits)-bit address space")
        vmas.append(range)
    }

    /// What a quiescent table maps: for tests and for checking walkers against each other.
    public struct Census: Equatable, Sendable {
        public var tables = 0
        public var leaves = 0
        public var hugeLeaves = 0
        public var mappedBytes: UInt64 = 0
        public var frameSum: UInt64 = 0
    }

    /// Counts tables and leaves under `range` (whole tables that intersect it). Writer-side: the caller
    /// holds the lock or knows nothing runs.
    public func census(_ range: Range<UInt64>? = nil) -> Census {
        let r = range ?? 0..<geometry.addressSpaceSize
        var c = Census()
        census(root, level: 0, base: 0, range: r, into: &c)
        return c
    }

    private func census(_ table: TableIndex, level: Int, base: UInt64, range: Range<UInt64>, into c: inout Census) {
        c.tables += 1
        let l = geometry.levels[level]
        for slot in 0..<l.entries {
            let start = base + UInt64(slot) << UInt64(l.shift)
            let end = start + l.coverage
            guard start < range.upperBound && end > range.lowerBound else { continue }
            let e = pool.load(table, slot)
            if e.isTable {
                census(e.tableIndex, level: level + 1, base: start, range: range, into: &c)
            } else if e.isPresent {
                guard start >= range.lowerBound && end <= range.upperBound else { continue }
                c.leaves += 1
                if level != lastLevel { c.hugeLeaves += 1 }
                c.mappedBytes += l.coverage
                c.frameSum &+= e.frame
            }
        }
    }
}
