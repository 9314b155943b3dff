/// A synthetic workload: how the address space is mapped and what writers do to it.
///
/// The kind (one file each) says what one writer operation is; the parameters say how much is mapped,
/// how densely, how much of it as huge leaves, how long writers pause between operations, and how many
/// readers and writers run unless the command line says otherwise.
public struct Workload: Sendable, Hashable {
    public var name: String
    public var kind: String
    public var summary: String
    /// Bytes mapped (one VMA), rounded up to whole PTE-table spans.
    public var mappedBytes: UInt64
    /// Fraction of pages present in PTE-mapped chunks.
    public var density: Double
    /// Fraction of PTE-table-sized chunks mapped by one huge leaf (where the geometry has them).
    public var hugeFraction: Double
    /// Order of the folios PTE-mapped pages belong to (0: small pages; 4: 64 KiB mTHP with 4 KiB pages).
    public var pteFolioOrder: Int = 0
    /// Pause between writer operations, outside the mmap_lock.
    public var writerDelayNanoseconds: UInt64
    /// How long each walker idles after every batch of walks (0: never): its CPU runs the idle task,
    /// in lazy TLB mode when that option is on, and sleeps, so an IPI must wake it.
    public var readerIdleNanoseconds: UInt64
    public var readers: Int
    public var writers: Int

    public init(name: String, kind: String, summary: String, mappedBytes: UInt64, density: Double,
                hugeFraction: Double, writerDelayNanoseconds: UInt64, readerIdleNanoseconds: UInt64 = 0,
                readers: Int, writers: Int) {
        self.name = name
        self.kind = kind
        self.summary = summary
        self.mappedBytes = mappedBytes
        self.density = density
        self.hugeFraction = hugeFraction
        self.writerDelayNanoseconds = writerDelayNanoseconds
        self.readerIdleNanoseconds = readerIdleNanoseconds
        self.readers = readers
        self.writers = writers
    }

    public var kindType: any WorkloadKind.Type { Workloads.kind(named: kind)! }

    /// The largest mTHP order below a PMD in the kernel (2 MiB PMDs of 4 KiB pages: order 8, 1 MiB);
    /// a geometry whose PTE tables hold fewer pages refuses more at run time.
    public static let maxPTEFolioOrder = 8
}

/// What one writer operation does. Writers hold the mmap_lock for writing while it runs.
public protocol WorkloadKind: SendableMetatype {
    static var name: String { get }
    /// What the CSV's `workload_rev` column carries: bumped in the workload's own file when its numbers change meaning.
    static var revision: Int { get }
    static var summary: String { get }
    /// The built-in workload of this kind.
    static var preset: Workload { get }
    /// False for workloads run only by name (`bench run`'s default selection leaves them out).
    static var inDefaultSuite: Bool { get }
    static func writerOperation<P: WalkProtection>(mm: AddressSpace, workload: Workload, protection: P,
                                                   cpu: Int, rng: inout SplitMix64) throws
}

extension WorkloadKind {
    public static var inDefaultSuite: Bool { true }
}

extension AddressSpace {
    /// A random PTE-table-aligned chunk of the first VMA: the unit writers work on.
    func randomChunk(_ rng: inout SplitMix64) -> Range<UInt64> {
        let vma = vmas[0]
        let chunk = geometry.pteTableCoverage
        let chunks = (vma.upperBound - vma.lowerBound) / chunk
        let start = vma.lowerBound + rng.below(chunks) * chunk
        return start..<(start + chunk)
    }
}
