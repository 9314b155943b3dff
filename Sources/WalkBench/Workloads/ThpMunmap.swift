/// `thp-munmap`: the walker-counting series' case. A THP-backed mapping, walkers that idle between
/// short bursts (vCPUs of a mostly idle guest), and writers that munmap a run of huge PMDs at a time
/// and map it back: every munmap clears `pmdsPerUnmap` huge leaves and frees no table.
public enum ThpMunmap: WorkloadKind {
    public static let name = "thp-munmap"
    /// Bumped when what this workload measures changes meaning; `bench compare` never compares across revisions.
    /// 2: writers keep data pages' reference counts (unmapped pages are released after the flush).
    public static let revision = 2
    public static let summary = "walkers idle 50 µs per batch; writers munmap and remap random 32 MiB runs (16 huge PMDs) of 256 MiB, all THP"
    public static let preset = Workload(
        name: name, kind: name, summary: summary, mappedBytes: 256 << 20, density: 1.0, hugeFraction: 1.0,
        writerDelayNanoseconds: 10_000, readerIdleNanoseconds: 50_000, readers: 1, writers: 1)
    /// Run by name: it is the powerpc family's case, and the default suite stays near a minute.
    public static let inDefaultSuite = false

    /// Huge PMDs (PTE-table spans) each munmap covers, or the whole mapping if it is smaller.
    public static let pmdsPerUnmap: UInt64 = 16

    public static func writerOperation<P: WalkProtection>(mm: AddressSpace, workload: Workload, protection: P,
                                                          cpu: Int, rng: inout SplitMix64) throws {
        let vma = mm.vmas[0]
        let span = mm.geometry.pteTableCoverage
        let runs = max(1, (vma.upperBound - vma.lowerBound) / span / pmdsPerUnmap)
        let length = min(pmdsPerUnmap * span, vma.upperBound - vma.lowerBound)
        let start = vma.lowerBound + rng.below(runs) * length
        let range = start..<(start + length)
        try mm.unmap(range, protection: protection, cpu: cpu)
        try mm.populate(range, density: workload.density, hugeFraction: workload.hugeFraction, rng: &rng)
    }
}
