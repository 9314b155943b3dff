/// `read-mostly`: lookups over a populated space. Writers, if asked for, rewrite leaves in place
/// (an mprotect-like change that never frees a table) and flush the TLB.
public enum ReadMostly: WorkloadKind {
    public static let name = "read-mostly"
    /// Bumped when what this workload measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "lookups over a populated 1 GiB; writers (default 0) rewrite leaves in place, freeing nothing"
    public static let preset = Workload(
        name: name, kind: name, summary: summary, mappedBytes: 1 << 30, density: 1.0, hugeFraction: 0.0,
        writerDelayNanoseconds: 10_000, readers: 1, writers: 0)

    public static func writerOperation<P: WalkProtection>(mm: AddressSpace, workload: Workload, protection: P,
                                                          cpu: Int, rng: inout SplitMix64) throws {
        let chunk = mm.randomChunk(&rng)
        guard let pte = try mm.table(at: mm.lastLevel, for: chunk.lowerBound, create: false) else { return }
        for slot in 0..<mm.geometry.levels[mm.lastLevel].entries {
            let e = mm.pool.load(pte, slot)
            guard e.isPresent else { continue }
            // change_pte_range: clear, then set the new value.
            mm.pool.storeRelaxed(pte, slot, .empty)
            mm.pool.storeRelease(pte, slot, e)
        }
        // flush_tlb_range at the end of change_protection: nothing was freed.
        protection.flushTLBOnly(cpu: cpu)
    }
}
