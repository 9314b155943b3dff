/// `s390-folding` (seed 000): gup_fast on an s390 task whose page table has fewer levels than the
/// kernel's five, walked across a 2 GiB region-third boundary.
///
/// The bug, d3f7b1bb2040 "mm/gup: fix gup_fast with dynamic page table folding" (Fixes 1a42010cdc26,
/// refs d1874a0c2805; thread "[RFC PATCH v2 0/3] mm/gup: fix gup_fast with dynamic page table folding",
/// linux-mm 2020-09):
/// - s390 picks 3, 4 or 5 levels per task. In a 3-level task the top table is a region-third table
///   (4 TiB); region-first and region-second are folded, and s390's p4d_offset / pud_offset return the
///   pointer they are given when the level above is folded (d1874a0c2805).
/// - Generic gup_fast of the time passed each level's entry down *by value*: gup_pud_range(p4d_t p4d, …)
///   called pud_offset(&p4d, addr). On a folded level that is a pointer to the local copy.
/// - PUD_SIZE, and so pud_addr_end, is the unfolded 2 GiB. A walk crossing a 2 GiB boundary did
///   `pudp++` off the copy and read whatever sat next to it on the stack as the next region-third entry.
/// - The fix passes the table pointers down as well, pXd_offset_lockless(pXdp, pXd, addr), so a folded
///   level's pointer is the table entry itself and `pudp++` is the next entry.
/// - Jason Gunthorpe's invariant (lkml 2020-09-10): `pud++` must equal pud_offset(p4d, next).
///
/// The model: the real tables are `Geometry.s390_3level` (r3, sgt, pte) in the project's pool; the two
/// folded levels exist only in the walkers. A pointer is either an entry of a pool table or a word of a
/// simulated stack, so the value-passing walker really reads off the end of its copy. At every
/// dereference the walker checks the invariant: the pointer lies in a registered table page and equals
/// the true pXd_offset for the address. Results are also compared with `RangeWalker`.
public enum S390Folding {
    public static let scenario = "s390-folding"
    public static let byValueWalker = "folded-by-value"
    public static let locklessWalker = "folded-lockless"

    /// The boundary the walks cross: the end of region-third entry 0.
    public static let boundary: UInt64 = 2 << 30
    public static let populated: Range<UInt64> = (boundary - (4 << 20))..<(boundary + (4 << 20))

    /// How a walker hands a level's entry to the next level's loop.
    public enum PointerPassing: Sendable {
        /// gup_fast before the fix: the value only; the callee takes the address of its own copy.
        case byValue
        /// pXd_offset_lockless: the table pointer travels with the value.
        case lockless
    }

    /// The kernel's five levels, as an s390 task with 3 levels sees them.
    public enum KernelLevel: Int, CaseIterable, Sendable, CustomStringConvertible {
        case pgd, p4d, pud, pmd, pte

        /// Region-first, region-second, region-third, segment, page table.
        public var s390Name: String { ["r1", "r2", "r3", "sgt", "pte"][rawValue] }
        /// The architecture's static shift: what pXd_addr_end uses whatever the task folds.
        public var shift: Int { [53, 42, 31, 20, 12][rawValue] }
        public var size: UInt64 { 1 << UInt64(shift) }
        /// No table of its own in a 3-level task: its "entry" is the region-third entry.
        public var isFolded: Bool { self == .pgd || self == .p4d }
        /// The `Geometry.s390_3level` level that holds this level's entries (the folded ones land on r3).
        public var tableLevel: Int { [0, 0, 0, 1, 2][rawValue] }
        public var below: KernelLevel? { KernelLevel(rawValue: rawValue + 1) }
        public var above: KernelLevel? { KernelLevel(rawValue: rawValue - 1) }
        public var description: String { "\(["pgd", "p4d", "pud", "pmd", "pte"][rawValue])(\(s390Name))" }

        /// pXd_addr_end: the next boundary of this level's static size, or `end`.
        func addressEnd(_ address: UInt64, _ end: UInt64) -> UInt64 {
            let boundary = (address &+ size) & ~(size &- 1)
            return boundary &- 1 < end &- 1 ? boundary : end
        }
    }

    /// What a walker dereferences: a table entry in the pool or a word of its stack.
    public enum EntryPointer: Hashable, Sendable, CustomStringConvertible {
        case table(TableIndex, slot: Int)
        case stack(Int)

        /// `pXdp++`.
        public var advanced: EntryPointer {
            switch self {
            case let .table(t, slot): .table(t, slot: slot + 1)
            case let .stack(word): .stack(word + 1)
            }
        }

        public var description: String {
            switch self {
            case let .table(t, slot): "table \(t.raw)[\(slot)]"
            case let .stack(word): "stack word \(word)"
            }
        }
    }

    /// A dereference that broke Gunthorpe's invariant.
    public struct InvariantViolation: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            /// A stack copy of exactly the right entry: the right value in the wrong place, harmless
            /// only until the walker steps the pointer.
            case localCopy = "local copy"
            /// A stack word that is not a copy of the entry: the walker stepped off its copy.
            case strayStackRead = "stray stack read"
            /// A real table entry, but not pXd_offset(parent, addr).
            case wrongTableEntry = "wrong table entry"
            /// Neither a registered table page nor the stack.
            case outsideTables = "outside every table"
        }
        public let kind: Kind
        public let level: KernelLevel
        public let address: UInt64
        public let dereferenced: EntryPointer
        /// The true pXd_offset(parent, addr); nil where the tables have nothing at that level.
        public let expected: EntryPointer?

        public var description: String {
            "\(kind.rawValue) at \(level) for 0x\(String(address, radix: 16)): read \(dereferenced), expected \(expected.map(\.description) ?? "no entry")"
        }
    }

    /// One walk and what the checks made of it.
    public struct Walk: Sendable {
        public let range: Range<UInt64>
        public let result: WalkResult
        /// RangeWalker over the same range.
        public let reference: WalkResult
        public let violations: [InvariantViolation]

        public var returnedRightResult: Bool { result == reference }
        public var isCorrect: Bool { violations.isEmpty && returnedRightResult }
    }

    /// A 3-level s390 mm with pages on both sides of `boundary`, and the walkers over it.
    public final class Model: Sendable {
        public let mm: AddressSpace
        /// Every table page of the mm and its `Geometry.s390_3level` level.
        let registered: [TableIndex: Int]

        public init() throws {
            let space = try AddressSpace(geometry: .s390_3level, mappedBytes: UInt64(S390Folding.populated.count))
            space.addVMA(S390Folding.populated)
            // Some 1 MiB segment leaves among the page tables, so both leaf levels are walked.
            var rng = SplitMix64(seed: 0x5390)
            try space.populate(S390Folding.populated, density: 1, hugeFraction: 0.25, rng: &rng)
            var tables: [TableIndex: Int] = [:]
            func register(_ t: TableIndex, level: Int) {
                tables[t] = level
                guard level + 1 < space.geometry.levels.count else { return }
                for slot in 0..<space.geometry.levels[level].entries {
                    let e = space.pool.load(t, slot)
                    if e.isTable { register(e.tableIndex, level: level + 1) }
                }
            }
            register(space.root, level: 0)
            mm = space
            registered = tables
        }

        /// Walks inside the populated range: one on each side of the boundary, the rest across it.
        public var sweep: [Range<UInt64>] {
            let lo = S390Folding.populated.lowerBound
            let mib: UInt64 = 1 << 20
            var ranges = [S390Folding.populated, (S390Folding.boundary - 4096)..<(S390Folding.boundary + 4096)]
            for k in UInt64(0)...4 { ranges.append((lo + k * mib)..<(lo + k * mib + 4 * mib)) }
            return ranges
        }

        /// The true pXd_offset for `address`: where a correct walker's pointer must be.
        public func expectedPointer(_ level: KernelLevel, _ address: UInt64) -> EntryPointer? {
            var table = mm.root
            for l in 0..<level.tableLevel {
                let e = mm.pool.load(table, mm.geometry.index(of: address, at: l))
                guard e.isTable else { return nil }
                table = e.tableIndex
            }
            return .table(table, slot: mm.geometry.index(of: address, at: level.tableLevel))
        }

        /// RangeWalker's answer for `range`.
        public func reference(_ range: Range<UInt64>) -> WalkResult {
            var walker = RangeWalker(mm: mm, options: WalkOptions(span: UInt64(range.count), takeReference: false))
            var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0,
                                log: OracleOff(pool: mm.pool, capacity: 0))
            return walker.walk(at: range.lowerBound, window: &window)
        }

        public func walk(_ range: Range<UInt64>, passing: PointerPassing) -> Walk {
            var walker = FoldedWalker(model: self, passing: passing)
            walker.walkLevel(.pgd, parentPointer: nil, parentValue: .empty, range.lowerBound, range.upperBound)
            return Walk(range: range, result: walker.result, reference: reference(range), violations: walker.violations)
        }

        func isInsideTable(_ t: TableIndex, slot: Int) -> Bool {
            guard let level = registered[t] else { return false }
            return slot >= 0 && slot < mm.geometry.levels[level].entries
        }
    }

    /// The walker's stack: grows down, so `pointer++` on a stack word reaches the caller's words.
    struct SimulatedStack {
        enum Word {
            /// A pXd passed by value, with the table entry it was first read from.
            case copy(of: EntryPointer?, value: Entry)
            /// Any other spilled word (here the callee's addr and end arguments).
            case spill(UInt64)

            var raw: UInt64 {
                switch self {
                case let .copy(_, value): value.raw
                case let .spill(raw): raw
                }
            }
        }

        static let capacity = 32
        private(set) var words = [Word](repeating: .spill(0), count: SimulatedStack.capacity)
        private(set) var top = SimulatedStack.capacity

        /// What a word holds, or nil above the stack's base or below its top (not this walk's memory).
        func word(_ index: Int) -> Word? { index >= top && index < Self.capacity ? words[index] : nil }

        /// gup_pXd_range(pXd_t pXd, addr, end)'s frame: end, addr, then the value, whose address the
        /// callee passes to the folded pXd_offset. Returns the copy's word.
        mutating func pushFrame(copyOf source: EntryPointer?, value: Entry, start: UInt64, end: UInt64) -> Int {
            precondition(top >= 3, "simulated stack overflow: the walk nests at most five levels")
            top -= 3
            words[top + 2] = .spill(end)
            words[top + 1] = .spill(start)
            words[top] = .copy(of: source, value: value)
            return top
        }

        mutating func popFrame() { top += 3 }
    }

    /// gup_fast_pgd_range and its nest, with the two ways of passing entries down.
    struct FoldedWalker {
        let model: Model
        let passing: PointerPassing
        var stack = SimulatedStack()
        var result = WalkResult()
        var violations: [InvariantViolation] = []

        mutating func walkLevel(_ level: KernelLevel, parentPointer: EntryPointer?, parentValue: Entry, _ start: UInt64, _ end: UInt64) {
            var pointer = offset(level, parentPointer: parentPointer, parentValue: parentValue, start)
            var address = start
            repeat {
                let next = level.addressEnd(address, end)
                let entry = dereference(pointer, level: level, address: address)
                if let below = level.below, level.isFolded || entry.isTable {
                    // A folded level has no entry of its own to test: it hands the r3 entry down as is.
                    descend(to: below, through: pointer, value: entry, address, next)
                } else if entry.isPresent {
                    result.addLeaf(entry, entryStart: address & ~(level.size - 1), from: address, to: next,
                                   pageShift: UInt64(KernelLevel.pte.shift))
                }
                pointer = pointer.advanced
                address = next
            } while address != end
        }

        private mutating func descend(to level: KernelLevel, through pointer: EntryPointer, value: Entry, _ start: UInt64, _ end: UInt64) {
            switch passing {
            case .lockless:
                walkLevel(level, parentPointer: pointer, parentValue: value, start, end)
            case .byValue:
                let source: EntryPointer? = if case let .stack(word) = pointer, case let .copy(origin, _)? = stack.word(word) { origin } else { pointer }
                let copy = stack.pushFrame(copyOf: source, value: value, start: start, end: end)
                walkLevel(level, parentPointer: .stack(copy), parentValue: value, start, end)
                stack.popFrame()
            }
        }

        /// pgd_offset(mm, addr) at the top; below, the folded pXd_offset returns its argument and a
        /// real one indexes the table the parent's value points to.
        private func offset(_ level: KernelLevel, parentPointer: EntryPointer?, parentValue: Entry, _ address: UInt64) -> EntryPointer {
            let geometry = model.mm.geometry
            guard let parentPointer, let parent = level.above else {
                // s390's pgd_offset indexes whatever table is on top: r3 in a 3-level task.
                return .table(model.mm.root, slot: geometry.index(of: address, at: 0))
            }
            if parent.isFolded { return parentPointer }
            return .table(parentValue.tableIndex, slot: geometry.index(of: address, at: level.tableLevel))
        }

        /// READ_ONCE(*pXdp), after checking the invariant. Memory outside the model reads as empty.
        private mutating func dereference(_ pointer: EntryPointer, level: KernelLevel, address: UInt64) -> Entry {
            let expected = model.expectedPointer(level, address)
            let value: Entry
            let kind: InvariantViolation.Kind?
            switch pointer {
            case let .table(t, slot):
                let inside = model.isInsideTable(t, slot: slot)
                value = inside ? model.mm.pool.load(t, slot) : .empty
                kind = !inside ? .outsideTables : pointer == expected ? nil : .wrongTableEntry
            case let .stack(index):
                let word = stack.word(index)
                value = Entry(raw: word?.raw ?? 0)
                if case let .copy(origin?, _)? = word, origin == expected { kind = .localCopy }
                else { kind = word == nil ? .outsideTables : .strayStackRead }
            }
            if let kind {
                violations.append(InvariantViolation(kind: kind, level: level, address: address, dereferenced: pointer, expected: expected))
            }
            return value
        }
    }

    /// Runs the sweep. The count is walks that read outside a table (or off the stack copy) or returned
    /// a wrong result: for this scenario the observation's "use-after-free" count means exactly that.
    static func observe(_ passing: PointerPassing) throws -> Validation.Observation {
        let model = try Model()
        let walks = model.sweep.map { model.walk($0, passing: passing) }
        let broken = walks.filter { !$0.isCorrect }.count
        return Validation.Observation(useAfterFree: UInt64(broken), trials: UInt64(walks.count), unit: "walks", tablesFreed: nil, exhaustive: true)
    }
}
