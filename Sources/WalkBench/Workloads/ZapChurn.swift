/// `zap-churn`: idle-prone walkers under MADV_DONTNEED. Writers zap a random PTE-table-sized chunk's
/// pages and fault them back; most zaps keep the table (a flush that frees nothing), one in four is a
/// munmap that frees it. Walkers idle after every batch, as CPUs that go idle between bursts: the case
/// lazy TLB exists for.
public enum ZapChurn: WorkloadKind {
    public static let name = "zap-churn"
    /// Bumped when what this workload measures changes meaning; `bench compare` never compares across revisions.
    /// 2: writers keep data pages' reference counts (unmapped pages are released after the flush).
    public static let revision = 2
    public static let summary = "walkers idle 50 µs per batch; writers MADV_DONTNEED random 2 MiB chunks of 64 MiB (table kept), munmap one in four (table freed)"
    public static let preset = Workload(
        name: name, kind: name, summary: summary, mappedBytes: 64 << 20, density: 1.0, hugeFraction: 0.0,
        writerDelayNanoseconds: 10_000, readerIdleNanoseconds: 50_000, readers: 1, writers: 1)

    /// One writer operation in this many is a munmap that frees the chunk's PTE table.
    static let unmapEvery: UInt64 = 4

    public static func writerOperation<P: WalkProtection>(mm: AddressSpace, workload: Workload, protection: P,
                                                          cpu: Int, rng: inout SplitMix64) throws {
        let chunk = mm.randomChunk(&rng)
        if rng.below(unmapEvery) == 0 {
            try mm.unmap(chunk, protection: protection, cpu: cpu)
        } else {
            try mm.zapLeaves(chunk, protection: protection, cpu: cpu)
        }
        try mm.populate(chunk, density: workload.density, hugeFraction: workload.hugeFraction, rng: &rng)
    }
}
