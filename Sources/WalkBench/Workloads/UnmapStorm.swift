/// `unmap-storm`: writers unmap a random PTE-table-sized chunk and map it again, continuously, so
/// page tables are unlinked and freed all the time (munmap + fault-in).
public enum UnmapStorm: WorkloadKind {
    public static let name = "unmap-storm"
    /// Bumped when what this workload measures changes meaning; `bench compare` never compares across revisions.
    /// 2: writers keep data pages' reference counts (unmapped pages are released after the flush).
    public static let revision = 2
    public static let summary = "writers unmap and repopulate random 2 MiB chunks of 64 MiB, freeing a PTE table each time"
    public static let preset = Workload(
        name: name, kind: name, summary: summary, mappedBytes: 64 << 20, density: 1.0, hugeFraction: 0.0,
        writerDelayNanoseconds: 10_000, readers: 1, writers: 1)

    public static func writerOperation<P: WalkProtection>(mm: AddressSpace, workload: Workload, protection: P,
                                                          cpu: Int, rng: inout SplitMix64) throws {
        let chunk = mm.randomChunk(&rng)
        try mm.unmap(chunk, protection: protection, cpu: cpu)
        try mm.populate(chunk, density: workload.density, hugeFraction: workload.hugeFraction, rng: &rng)
    }
}
