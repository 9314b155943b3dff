/// `thp-churn`: writers collapse PTE tables into huge leaves (khugepaged, which retires the table)
/// and split huge leaves back into PTE tables.
public enum ThpChurn: WorkloadKind {
    public static let name = "thp-churn"
    /// Bumped when what this workload measures changes meaning; `bench compare` never compares across revisions.
    /// 2: writers keep data pages' reference counts (collapse flushes before it freezes the pages, and frees them (or is refused); unmapped pages are released after the flush).
    public static let revision = 2
    public static let summary = "writers collapse (retiring the PTE table) and split random chunks of 64 MiB, half huge"
    public static let preset = Workload(
        name: name, kind: name, summary: summary, mappedBytes: 64 << 20, density: 1.0, hugeFraction: 0.5,
        writerDelayNanoseconds: 10_000, readers: 1, writers: 1)

    public static func writerOperation<P: WalkProtection>(mm: AddressSpace, workload: Workload, protection: P,
                                                          cpu: Int, rng: inout SplitMix64) throws {
        let chunk = mm.randomChunk(&rng)
        if try mm.collapse(at: chunk.lowerBound, protection: protection, cpu: cpu) { return }
        if try mm.split(at: chunk.lowerBound, protection: protection, cpu: cpu) { return }
        try mm.populate(chunk, density: workload.density, hugeFraction: workload.hugeFraction, rng: &rng)
    }
}
