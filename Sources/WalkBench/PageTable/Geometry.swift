/// The shape of a page table: how many levels, how many bits each resolves, where leaves may sit.
///
/// Levels are listed top (pgd) to bottom (pte). `LevelMath` is the copy the walkers carry:
/// fixed-size, no ARC, so index arithmetic in the hot path is a shift and a mask.
public struct Geometry: Sendable, Hashable {
    public struct Level: Sendable, Hashable {
        /// The kernel's name for the level on this architecture (pgd, p4d, pud, pmd, pte; r3, sgt on s390).
        public let name: String
        /// Lowest virtual-address bit this level resolves (PMD_SHIFT and friends).
        public let shift: Int
        /// How many address bits this level resolves: the table has 1 << bits entries.
        public let bits: Int
        /// Whether an entry of this level may map memory directly (a huge / block / large page).
        public let leafAllowed: Bool

        public var entries: Int { 1 << bits }
        public var coverage: UInt64 { 1 << UInt64(shift) }
    }

    public let name: String
    public let summary: String
    public let levels: [Level]

    public init(name: String, summary: String, levels: [Level]) {
        precondition(!levels.isEmpty && levels.count <= LevelMath.maxLevels, "geometry \(name): 1...\(LevelMath.maxLevels) levels")
        for (upper, lower) in zip(levels, levels.dropFirst()) {
            precondition(upper.shift == lower.shift + lower.bits, "geometry \(name): level \(upper.name) must start where \(lower.name) ends")
        }
        self.name = name
        self.summary = summary
        self.levels = levels
    }

    public var pageShift: Int { levels[levels.count - 1].shift }
    public var pageSize: UInt64 { 1 << UInt64(pageShift) }
    /// Bits of virtual address the top level covers.
    public var addressBits: Int { levels[0].shift + levels[0].bits }
    public var addressSpaceSize: UInt64 { 1 << UInt64(addressBits) }
    /// The largest table of this geometry, in entries: every pool slot is this big.
    public var maxEntriesPerTable: Int { levels.map(\.entries).max()! }
    /// The level just above the ptes: where a transparent huge page (2 MiB on x86) lives.
    public var hugeLevel: Int { levels.count - 2 }
    /// Bytes one table of the huge level's children covers: a PTE table's reach (2 MiB on x86).
    public var pteTableCoverage: UInt64 { levels[hugeLevel].coverage }
    public var supportsHugeLeaves: Bool { levels.count >= 2 && levels[hugeLevel].leafAllowed }

    public var math: LevelMath { LevelMath(self) }

    /// Index into the table at `level` for `address`.
    public func index(of address: UInt64, at level: Int) -> Int {
        Int((address >> UInt64(levels[level].shift)) & UInt64(levels[level].entries - 1))
    }

    public var layoutDescription: String {
        levels.map { "\($0.name):\($0.entries)@\($0.shift)\($0.leafAllowed && $0.shift != pageShift ? "+leaf" : "")" }.joined(separator: " ")
    }
}

/// The walker's copy of the geometry: fixed inline storage, so reading a shift costs no ARC or bounds check.
public struct LevelMath: Sendable {
    public static let maxLevels = 5
    public let count: Int
    public let shifts: InlineArray<5, UInt64>
    public let masks: InlineArray<5, UInt64>

    public init(_ geometry: Geometry) {
        var shifts = InlineArray<5, UInt64>(repeating: 0)
        var masks = InlineArray<5, UInt64>(repeating: 0)
        for (i, level) in geometry.levels.enumerated() {
            shifts[i] = UInt64(level.shift)
            masks[i] = UInt64(level.entries - 1)
        }
        self.count = geometry.levels.count
        self.shifts = shifts
        self.masks = masks
    }

    @inline(__always)
    public func index(_ address: UInt64, level: Int) -> Int {
        Int(truncatingIfNeeded: (address &>> shifts[level]) & masks[level])
    }
}

extension Geometry {
    private static func level(_ name: String, _ shift: Int, _ bits: Int, leaf: Bool) -> Level {
        Level(name: name, shift: shift, bits: bits, leafAllowed: leaf)
    }

    /// x86-64 with 4-level paging: 48-bit VA, 512 entries a level, 1 GiB and 2 MiB leaves.
    public static let x86_64_4level = Geometry(
        name: "x86-64-4l", summary: "x86-64 4-level: 48-bit VA, 512 entries/level, 4 KiB pages, 2 MiB and 1 GiB leaves",
        levels: [level("pgd", 39, 9, leaf: false), level("pud", 30, 9, leaf: true), level("pmd", 21, 9, leaf: true), level("pte", 12, 9, leaf: true)])

    /// x86-64 with LA57: 57-bit VA, the p4d level real.
    public static let x86_64_5level = Geometry(
        name: "x86-64-5l", summary: "x86-64 5-level (LA57): 57-bit VA, 512 entries/level, 4 KiB pages, 2 MiB and 1 GiB leaves",
        levels: [level("pgd", 48, 9, leaf: false), level("p4d", 39, 9, leaf: false), level("pud", 30, 9, leaf: true),
                 level("pmd", 21, 9, leaf: true), level("pte", 12, 9, leaf: true)])

    /// arm64, 4 KiB granule, 39-bit VA: three levels (the pud folded), 1 GiB and 2 MiB blocks.
    public static let arm64_4k_3level = Geometry(
        name: "arm64-4k-3l", summary: "arm64 4K granule, 39-bit VA, 3 levels: 512 entries/level, 1 GiB and 2 MiB blocks",
        levels: [level("pgd", 30, 9, leaf: true), level("pmd", 21, 9, leaf: true), level("pte", 12, 9, leaf: true)])

    /// arm64, 64 KiB granule, 52-bit VA (LVA): 8192-entry tables below a 1024-entry pgd, 512 MiB blocks.
    public static let arm64_64k_3level = Geometry(
        name: "arm64-64k-3l", summary: "arm64 64K granule, 52-bit VA (LVA), 3 levels: 1024/8192/8192 entries, 64 KiB pages, 512 MiB blocks",
        levels: [level("pgd", 42, 10, leaf: false), level("pmd", 29, 13, leaf: true), level("pte", 16, 13, leaf: true)])

    /// s390 task with 3 levels: region-third and segment tables of 2048 entries, page tables of 256.
    public static let s390_3level = Geometry(
        name: "s390-3l", summary: "s390 3-level (region-third, segment, page): 2048/2048/256 entries, 42-bit VA, 1 MiB and 2 GiB leaves",
        levels: [level("r3", 31, 11, leaf: true), level("sgt", 20, 11, leaf: true), level("pte", 12, 8, leaf: true)])

    /// Every preset, in the order `bench list` shows them; the first is the default.
    public static let presets: [Geometry] = [x86_64_4level, x86_64_5level, arm64_4k_3level, arm64_64k_3level, s390_3level]

    public static func named(_ name: String) -> Geometry? { presets.first { $0.name == name } }
}
