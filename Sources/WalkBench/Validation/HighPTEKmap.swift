import CWalkSupport

/// `highpte-kmap` (seed 002): under CONFIG_HIGHPTE a PTE table must be mapped before it is read, and
/// those mappings form a stack.
///
/// The kernel side:
/// - pte_offset_map maps the PTE page with kmap_local_page and pte_unmap undoes it with kunmap_local
///   (include/linux/pgtable.h). Slots come from a per-CPU (since 5fbda3ecd14a per-task) index that map
///   pushes and unmap pops, nested at most KMAP_TYPE_NR deep; "invocations have to be strictly ordered
///   because the map implementation is stack based" (Documentation/mm/highmem.rst; f3ba3c710ac5).
/// - Linus in seed 002 ("[patch RFC 00/15] mm/highmem: Provide a preemptible variant of kmap_atomic &
///   friends", 2020-09-20): map addr1, map addr2, unmap addr1, unmap addr2 is "very wrong": "it's
///   fundamentally a stack".
/// - kunmap_local of a slot that is not the top one WARNs, then pops the top anyway, so the mapping the
///   caller still uses is the one torn down. Without highmem kmap_local is page_address and such bugs are
///   silent (the LoongArch copy_user_highpage LIFO fix, found by kmap_local_lifo.cocci).
///
/// The model: `KmapStack` is one CPU's slot stack with the kernel's pop-the-top behaviour, and checks
/// what the kernel only WARNs about or cannot see: an out-of-order unmap, an unmap of an empty stack,
/// nesting beyond KMAP_TYPE_NR, a read through a slot that was torn down or reused since it was mapped,
/// and mappings a walk leaves behind. `KmapWalker` walks x86-64 tables and reads every PTE table
/// through the stack, correctly nested or with the two-tables-held FIFO unmap.
public enum HighPTEKmap {
    public static let scenario = "highpte-kmap"
    public static let nestedWalker = "kmap-nested"
    public static let fifoWalker = "kmap-fifo-unmap"

    /// How a walker releases its PTE mappings.
    public enum Discipline: Sendable {
        /// pte_offset_map, read, pte_unmap: one table mapped at a time.
        case nested
        /// Crossing a PMD boundary, map the next table before unmapping the previous one, and unmap
        /// the older first: the order Linus calls "very wrong".
        case fifoUnmap
    }

    /// Stack-discipline errors seen by a `KmapStack`.
    public struct Errors: Sendable, Equatable {
        /// An unmap of a slot that is not the top mapping (or no longer the mapping it names).
        public var outOfOrderUnmaps = 0
        /// An unmap with nothing mapped.
        public var unmapsOfEmptyStack = 0
        /// A map with all KMAP_TYPE_NR slots taken (the kernel BUGs).
        public var overflows = 0
        /// A read through a slot torn down or reused since it was mapped.
        public var staleReads = 0
        /// Mappings still held when a walk ended (a missing pte_unmap).
        public var leakedMappings = 0

        public init() {}
        public var total: Int { outOfOrderUnmaps + unmapsOfEmptyStack + overflows + staleReads + leakedMappings }
    }

    /// One CPU's kmap_local slots.
    public struct KmapStack {
        /// KMAP_TYPE_NR: the nesting limit.
        public static let slotCount = 16

        /// What map returns: the slot and which mapping of it this is.
        public struct Slot: Sendable, Hashable {
            public let index: Int
            let mapping: UInt64
        }

        private let memory: TableMemory
        private var tables = InlineArray<16, UInt32>(repeating: 0)
        private var mappings = InlineArray<16, UInt64>(repeating: 0)
        private var mapsSoFar: UInt64 = 0
        public private(set) var depth = 0
        public private(set) var errors = Errors()

        public init(memory: TableMemory) { self.memory = memory }

        /// kmap_local_page: pushes a slot mapping `table`; nil (and an error) when every slot is taken.
        @inline(__always)
        public mutating func map(_ table: TableIndex) -> Slot? {
            guard depth < Self.slotCount else {
                errors.overflows += 1
                return nil
            }
            mapsSoFar &+= 1
            tables[depth] = table.raw
            mappings[depth] = mapsSoFar
            depth += 1
            return Slot(index: depth - 1, mapping: mapsSoFar)
        }

        /// kunmap_local: `slot` must be the top mapping. Like kunmap_local_indexed, an out-of-order unmap
        /// still pops the top slot, tearing down a mapping its owner is still using.
        @inline(__always)
        public mutating func unmap(_ slot: Slot) {
            guard depth > 0 else {
                errors.unmapsOfEmptyStack += 1
                return
            }
            if !(slot.index == depth - 1 && mappings[slot.index] == slot.mapping) { errors.outOfOrderUnmaps += 1 }
            depth -= 1
        }

        /// Reads entry `index` of the table mapped at `slot`; nil (and an error) if that mapping is gone.
        @inline(__always)
        public mutating func read(_ slot: Slot, _ index: Int) -> Entry? {
            guard slot.index < depth && mappings[slot.index] == slot.mapping else {
                errors.staleReads += 1
                return nil
            }
            return memory.load(TableIndex(raw: tables[slot.index]), index)
        }

        /// The end of a walk that began at `depthAtStart`: anything still mapped beyond it leaked.
        mutating func walkEnded(depthAtStart: Int) {
            if depth > depthAtStart { errors.leakedMappings += depth - depthAtStart }
        }
    }

    /// A range walk (RangeWalker's loops) that reads every PTE table through a `KmapStack`.
    public struct KmapWalker {
        private let memory: TableMemory
        private let root: TableIndex
        private let math: LevelMath
        private let pageShift: UInt64
        public let discipline: Discipline
        /// The FIFO variant's previous PTE table, still mapped.
        private var held: KmapStack.Slot?

        public init(mm: AddressSpace, discipline: Discipline) {
            memory = mm.pool.memory
            root = mm.root
            math = mm.math
            pageShift = UInt64(mm.geometry.pageShift)
            self.discipline = discipline
        }

        public mutating func walk(_ range: Range<UInt64>, stack: inout KmapStack) -> WalkResult {
            let depthAtStart = stack.depth
            var result = WalkResult()
            walkTable(root, level: 0, range.lowerBound, range.upperBound, stack: &stack, result: &result)
            if let previous = held {
                stack.unmap(previous)
                held = nil
            }
            stack.walkEnded(depthAtStart: depthAtStart)
            return result
        }

        private mutating func walkTable(_ t: TableIndex, level: Int, _ start: UInt64, _ end: UInt64,
                                        stack: inout KmapStack, result: inout WalkResult) {
            let coverage: UInt64 = 1 &<< math.shifts[level]
            var addr = start
            var slot = math.index(addr, level: level)
            repeat {
                let entryStart = addr & ~(coverage &- 1)
                let next = min(entryStart &+ coverage, end)
                let e = memory.load(t, slot)
                if e.isTable && level &+ 2 == math.count {
                    walkPTETable(e.tableIndex, addr, next, stack: &stack, result: &result)
                } else if e.isTable {
                    walkTable(e.tableIndex, level: level &+ 1, addr, next, stack: &stack, result: &result)
                } else if e.isPresent {
                    result.addLeaf(e, entryStart: entryStart, from: addr, to: next, pageShift: pageShift)
                }
                addr = next
                slot &+= 1
            } while addr < end
        }

        /// pte_offset_map, the PTE loop, pte_unmap (or, FIFO, the previous table's pte_unmap).
        private mutating func walkPTETable(_ table: TableIndex, _ start: UInt64, _ end: UInt64,
                                           stack: inout KmapStack, result: inout WalkResult) {
            // No slot left: the kernel would BUG; the stack has counted it, and the table goes unread.
            guard let mapped = stack.map(table) else { return }
            if discipline == .fifoUnmap, let previous = held { stack.unmap(previous) }
            let last = math.count - 1
            var addr = start
            repeat {
                if let e = stack.read(mapped, math.index(addr, level: last)), e.isPresent {
                    result.addLeaf(e, entryStart: addr, from: addr, to: addr &+ (1 &<< pageShift), pageShift: pageShift)
                }
                addr &+= 1 &<< pageShift
            } while addr < end
            switch discipline {
            case .nested: stack.unmap(mapped)
            case .fifoUnmap: held = mapped
            }
        }
    }

    /// An x86-64 mm with 8 MiB of pages (four PTE tables) and walks that stay in one table or cross PMDs.
    public final class Model: Sendable {
        public let mm: AddressSpace
        public let populated: Range<UInt64>

        public init() throws {
            let geometry = Geometry.x86_64_4level
            let base = Runner.vmaBase(geometry)
            populated = base..<(base + 4 * geometry.pteTableCoverage)
            mm = try AddressSpace(geometry: geometry, mappedBytes: UInt64(populated.count))
            mm.addVMA(populated)
            var rng = SplitMix64(seed: 0x4178)
            try mm.populate(populated, density: 0.75, hugeFraction: 0, rng: &rng)
        }

        public var sweep: [Range<UInt64>] {
            let base = populated.lowerBound
            let pmd = mm.geometry.pteTableCoverage
            let page = mm.geometry.pageSize
            return [
                populated,                                               // four tables
                (base + pmd / 2)..<(base + 2 * pmd + pmd / 2),           // three
                (base + pmd - 4 * page)..<(base + pmd + 4 * page),       // two, a few pages each
                (base + 2 * pmd + page)..<(base + 3 * pmd),              // one
                (base + 3 * pmd)..<(base + 4 * pmd),                     // one, whole
            ]
        }

        public func reference(_ range: Range<UInt64>) -> WalkResult {
            var walker = RangeWalker(mm: mm, options: WalkOptions(span: UInt64(range.count), takeReference: false))
            var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0,
                                log: OracleOff(pool: mm.pool, capacity: 0))
            return walker.walk(at: range.lowerBound, window: &window)
        }
    }

    /// Nanoseconds one kmap_local map + unmap pair adds to a PTE read in this emulation: N reads through
    /// the stack against the same N reads without it, best of `rounds`. Bookkeeping only: a real highmem
    /// kmap also writes a fixmap PTE and flushes its TLB entry on unmap.
    public static func mapUnmapCostNanoseconds(timeBase: TimeBase, pairs: Int = 200_000, rounds: Int = 9) throws -> Double {
        let model = try Model()
        guard let table = try model.mm.table(at: model.mm.lastLevel, for: model.populated.lowerBound, create: false) else {
            return .nan
        }
        var stack = KmapStack(memory: model.mm.pool.memory)
        var withKmap = UInt64.max
        var without = UInt64.max
        for _ in 0..<rounds {
            var t0 = timeBase.nowOrdered()
            wb_consume(readThroughKmap(&stack, table, pairs: pairs))
            withKmap = min(withKmap, timeBase.nowOrdered() &- t0)
            t0 = timeBase.nowOrdered()
            wb_consume(readDirect(model.mm.pool.memory, table, pairs: pairs))
            without = min(without, timeBase.nowOrdered() &- t0)
        }
        // Below zero is timer noise on a difference too small to see.
        let extra = withKmap > without ? withKmap - without : 0
        return timeBase.nanoseconds(extra) / Double(pairs)
    }

    @inline(never)
    static func readThroughKmap(_ stack: inout KmapStack, _ table: TableIndex, pairs: Int) -> UInt64 {
        var sum: UInt64 = 0
        for i in 0..<pairs {
            guard let slot = stack.map(table) else { break }
            sum &+= stack.read(slot, i & 255)?.raw ?? 0
            stack.unmap(slot)
            wb_consume(sum)
        }
        return sum
    }

    @inline(never)
    static func readDirect(_ memory: TableMemory, _ table: TableIndex, pairs: Int) -> UInt64 {
        var sum: UInt64 = 0
        for i in 0..<pairs {
            sum &+= memory.load(table, i & 255).raw
            wb_consume(sum)
        }
        return sum
    }

    /// Runs the sweep on one CPU's stack. The count is walks that broke the stack discipline or returned a
    /// wrong result; the unit string carries the error total and the measured cost of a map/unmap pair.
    static func observe(_ discipline: Discipline, timeBase: TimeBase) throws -> Validation.Observation {
        let model = try Model()
        var stack = KmapStack(memory: model.mm.pool.memory)
        var walker = KmapWalker(mm: model.mm, discipline: discipline)
        var broken = 0
        for range in model.sweep {
            let errorsBefore = stack.errors.total
            let result = walker.walk(range, stack: &stack)
            if stack.errors.total != errorsBefore || result != model.reference(range) { broken += 1 }
        }
        let cost = try mapUnmapCostNanoseconds(timeBase: timeBase)
        let unit = "walks, \(stack.errors.total) kmap-stack errors; map+unmap \((cost * 10).rounded() / 10) ns/pair"
        return Validation.Observation(useAfterFree: UInt64(broken), trials: UInt64(model.sweep.count), unit: unit, tablesFreed: nil, exhaustive: true)
    }
}
