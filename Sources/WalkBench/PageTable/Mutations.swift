/// The writer side of the mm: populate, unmap, collapse, split.
///
/// Every function here expects the caller to hold `lock` for writing (the kernel's mmap_lock write
/// side; khugepaged holds it too when it collapses). Tables that become unreachable go to the
/// strategy's updater side through `retire`, and the gather is finished (`flush`) before the function
/// returns, as tlb_finish_mmu does at the end of a zap.
extension AddressSpace {
    /// The frame a leaf at `address` maps: identity, so every walker's frame sum is predictable.
    @inline(__always)
    func frame(for address: UInt64) -> UInt64 { address >> UInt64(geometry.pageShift) }

    /// The table at `targetLevel` that covers `address`, creating missing intermediate tables when
    /// `create` is set. Nil when a leaf above covers the address, or the path is missing and `create` is off.
    func table(at targetLevel: Int, for address: UInt64, create: Bool) throws -> TableIndex? {
        var t = root
        for level in 0..<targetLevel {
            let slot = math.index(address, level: level)
            let e = pool.load(t, slot)
            if e.isTable { t = e.tableIndex; continue }
            if e.isPresent { return nil }
            guard create else { return nil }
            let child = try pool.allocate()
            // pXd_populate: the child is zeroed; release orders that before the link (smp_wmb).
            pool.storeRelease(t, slot, .table(child, generation: pool.generation(child)))
            pool.adjustLiveCount(t, by: 1)
            t = child
        }
        return t
    }

    /// Maps pages in `range` (page aligned): each PTE-table-sized chunk fully inside the range becomes a
    /// huge leaf with probability `hugeFraction` (where the geometry has huge leaves); otherwise each
    /// page is mapped with probability `density`. Already-present entries are left alone. No empty
    /// tables are created.
    public func populate(_ range: Range<UInt64>, density: Double, hugeFraction: Double, rng: inout SplitMix64) throws {
        let chunk = geometry.pteTableCoverage
        let page = geometry.pageSize
        var addr = range.lowerBound
        var chosen: [UInt64] = []
        while addr < range.upperBound {
            let chunkEnd = min((addr / chunk) * chunk + chunk, range.upperBound)
            if addr % chunk == 0 && chunkEnd - addr == chunk && geometry.supportsHugeLeaves && rng.unit() < hugeFraction {
                try mapHuge(at: addr)
            } else {
                chosen.removeAll(keepingCapacity: true)
                var a = addr
                while a < chunkEnd {
                    if density >= 1 || rng.unit() < density { chosen.append(a) }
                    a += page
                }
                if !chosen.isEmpty, let pte = try table(at: lastLevel, for: addr, create: true) {
                    let folioMask = ~((UInt64(1) << UInt64(pteFolioOrder)) - 1)
                    for a in chosen {
                        let slot = math.index(a, level: lastLevel)
                        guard !pool.load(pte, slot).isPresent else { continue }
                        let f = frame(for: a)
                        // Each PTE mapping a page holds a reference on its folio.
                        let generation = pages.map(f & folioMask, refs: 1)
                        // set_pte_at: release stands for the barrier that orders the page's contents first.
                        pool.storeRelease(pte, slot, .leaf(frame: f, folioGeneration: generation, folioOrder: pteFolioOrder))
                        pool.adjustLiveCount(pte, by: 1)
                    }
                }
            }
            addr = chunkEnd
        }
    }

    private func mapHuge(at address: UInt64) throws {
        guard let t = try table(at: geometry.hugeLevel, for: address, create: true) else { return }
        let slot = math.index(address, level: geometry.hugeLevel)
        guard !pool.load(t, slot).isPresent else { return }
        let head = frame(for: address)
        let generation = pages.map(head, refs: 1)
        pool.storeRelease(t, slot, .leaf(frame: head, folioGeneration: generation))
        pool.adjustLiveCount(t, by: 1)
    }

    /// The folio a leaf at `level` maps, by its head frame.
    @inline(__always)
    func folioHead(_ e: Entry, level: Int) -> UInt64 { e.folioHead(isPTE: level == lastLevel) }

    /// The end of a gather: drops the references of the pages its zaps unmapped (freeing those no one
    /// else holds), after the flush, as tlb_finish_mmu frees its batched pages after the TLB flush.
    private func releaseGatheredPages() {
        for head in gatheredPages { pages.put(head, refs: 1) }
        gatheredPages.removeAll(keepingCapacity: true)
    }

    /// Unmaps `range`: clears its leaves (splitting huge leaves it cuts), unlinks every table that
    /// becomes empty and retires it, then finishes the gather (tlb_finish_mmu): a flush that frees the
    /// tables if any were retired, else, if leaves were cleared, a TLB-only flush, as x86's
    /// tlb_flush_mmu_tlbonly sends its shootdown for a munmap that clears only (huge) leaves.
    /// Returns the number of tables retired.
    @discardableResult
    public func unmap<P: WalkProtection>(_ range: Range<UInt64>, protection: P, cpu: Int) throws -> Int {
        var retired = 0
        let leavesBefore = leavesCleared
        try zap(root, level: 0, range.lowerBound, range.upperBound, freeTables: true, protection: protection, cpu: cpu,
                retired: &retired)
        if retired > 0 {
            protection.flush(cpu: cpu)
        } else if leavesCleared != leavesBefore {
            protection.flushTLBOnly(cpu: cpu)
        }
        releaseGatheredPages()
        return retired
    }

    /// MADV_DONTNEED (zap_page_range_single): clears the leaves in `range` (splitting huge leaves it
    /// cuts) but keeps every table, even emptied ones, so the flush that follows frees nothing; with
    /// PT_RECLAIM (`reclaimsEmptyPTETables`) the PTE tables it empties are unlinked and freed, and the
    /// flush frees them.
    public func zapLeaves<P: WalkProtection>(_ range: Range<UInt64>, protection: P, cpu: Int) throws {
        var retired = 0
        try zap(root, level: 0, range.lowerBound, range.upperBound, freeTables: false, protection: protection, cpu: cpu,
                retired: &retired)
        if retired > 0 { protection.flush(cpu: cpu) } else { protection.flushTLBOnly(cpu: cpu) }
        releaseGatheredPages()
    }

    private func zap<P: WalkProtection>(_ t: TableIndex, level: Int, _ lo: UInt64, _ hi: UInt64, freeTables: Bool,
                                        protection: P, cpu: Int, retired: inout Int) throws {
        let coverage = geometry.levels[level].coverage
        // zap_pte_range holds the PTE table's lock while it clears its entries.
        let locksTable = level == lastLevel
        if locksTable { pool.pteLocks.lock(t) }
        defer { if locksTable { pool.pteLocks.unlock(t) } }
        var addr = lo
        while addr < hi {
            let slot = math.index(addr, level: level)
            let entryStart = addr & ~(coverage - 1)
            let end = min(entryStart &+ coverage, hi)
            let e = pool.load(t, slot)
            if e.isTable {
                let child = e.tableIndex
                try zap(child, level: level + 1, addr, end, freeTables: freeTables, protection: protection, cpu: cpu,
                        retired: &retired)
                // PT_RECLAIM frees only PTE tables, and only those MADV_DONTNEED emptied.
                let reclaim = !freeTables && reclaimsEmptyPTETables && level + 1 == lastLevel
                if (freeTables || reclaim) && pool.liveCount(child) == 0 {
                    // pXd_clear, then hand the page to the strategy (tlb_remove_table / pte_free_tlb).
                    pool.storeRelaxed(t, slot, .empty)
                    pool.adjustLiveCount(t, by: -1)
                    pool.noteRetired(child, bytes: geometry.levels[level + 1].entries * 8)
                    protection.retire(child, cpu: cpu)
                    retired += 1
                }
            } else if e.isPresent {
                if level == lastLevel || (addr == entryStart && end == entryStart &+ coverage) {
                    pool.storeRelaxed(t, slot, .empty)  // ptep_get_and_clear / pmdp_huge_get_and_clear
                    pool.adjustLiveCount(t, by: -1)
                    gatheredPages.append(folioHead(e, level: level))  // __tlb_remove_page
                    leavesCleared &+= 1
                    if isHugePMDLevel(level) { protection.hugePMDChanged(.cleared, cpu: cpu) }
                } else {
                    // The range cuts a huge leaf: split it, then zap the part inside the range.
                    try splitLeaf(in: t, slot: slot, level: level, base: entryStart, protection: protection, cpu: cpu)
                    continue
                }
            }
            addr = end
        }
    }

    /// THP collapse (khugepaged's collapse_huge_page): replaces the PTE table under `address` with a
    /// huge leaf. The pmd is cleared and flushed (pmdp_collapse_flush); then every folio the table maps
    /// is frozen (page_ref_freeze with the references its mappings hold). If one holds more (a GUP
    /// reference taken by a walker), the collapse is given up: the frozen ones are thawed, the same
    /// table is put back (pmd_populate), `collapsesRefused` counts it. Otherwise the old pages are
    /// freed, the huge leaf installed, mapping a new folio, and the old table retired. Returns false when
    /// there was no PTE table there, or the collapse was refused.
    @discardableResult
    public func collapse<P: WalkProtection>(at address: UInt64, protection: P, cpu: Int) throws -> Bool {
        let hugeLevel = geometry.hugeLevel
        guard geometry.supportsHugeLeaves,
              let t = try table(at: hugeLevel, for: address, create: false) else { return false }
        let slot = math.index(address, level: hugeLevel)
        let e = pool.load(t, slot)
        guard e.isTable else { return false }
        let pte = e.tableIndex
        // The PTE table's lock while the pmd goes: a walker holding it finishes its step first, and the
        // next one sees the pmd changed (page_vma_mapped_walk's !pmd_same) and restarts.
        pool.pteLocks.lock(pte)
        pool.storeRelaxed(t, slot, .empty)
        pool.pteLocks.unlock(pte)
        protection.hugePMDChanged(.collapsed, cpu: cpu)
        // pmdp_collapse_flush: no walker the flush waits for still reads the old entries after this.
        protection.flushTLBOnly(cpu: cpu)
        let folios = mappedFolios(pte)
        var frozen = 0
        while frozen < folios.count, pages.freeze(folios[frozen].head, expected: folios[frozen].mappings) { frozen += 1 }
        if frozen < folios.count {
            for f in folios[..<frozen] { pages.unfreeze(f.head, count: f.mappings) }
            pool.storeRelease(t, slot, .table(pte, generation: pool.generation(pte)))
            collapsesRefusedCount.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        for f in folios { pages.freeFrozen(f.head) }
        // The new folio's huge leaf goes in, then the old table goes (khugepaged deposits or frees it
        // after set_pmd_at); a strategy may hold its free back until walkers leave.
        let head = frame(for: address & ~(geometry.pteTableCoverage - 1))
        let generation = pages.map(head, refs: 1)
        pool.storeRelease(t, slot, .leaf(frame: head, folioGeneration: generation))
        pool.noteRetired(pte, bytes: geometry.levels[hugeLevel + 1].entries * 8)
        protection.retireDeferred(pte, cpu: cpu)
        return true
    }

    /// The folios a PTE table maps, each with the number of its pages mapped there (the references
    /// those mappings hold).
    private func mappedFolios(_ pte: TableIndex) -> [(head: UInt64, mappings: UInt32)] {
        var folios: [(head: UInt64, mappings: UInt32)] = []
        for i in 0..<geometry.levels[lastLevel].entries {
            let leaf = pool.load(pte, i)
            guard leaf.isPresent && leaf.isLeaf else { continue }
            let head = folioHead(leaf, level: lastLevel)
            if let last = folios.indices.last, folios[last].head == head { folios[last].mappings += 1 } else { folios.append((head, 1)) }
        }
        return folios
    }

    /// THP split (__split_huge_pmd): replaces the huge leaf under `address` with a full PTE table
    /// mapping the same frames, then flushes the huge leaf from TLBs (pmdp_invalidate's flush). No
    /// table is freed. Returns false when there was no huge leaf there.
    @discardableResult
    public func split<P: WalkProtection>(at address: UInt64, protection: P, cpu: Int) throws -> Bool {
        let hugeLevel = geometry.hugeLevel
        guard let t = try table(at: hugeLevel, for: address, create: false) else { return false }
        let slot = math.index(address, level: hugeLevel)
        guard pool.load(t, slot).isLeaf else { return false }
        try splitLeaf(in: t, slot: slot, level: hugeLevel, base: address & ~(geometry.pteTableCoverage - 1),
                      protection: protection, cpu: cpu)
        protection.flushTLBOnly(cpu: cpu)
        return true
    }

    /// Replaces the leaf at (t, slot) of `level` by a table one level down mapping the same range.
    /// Splitting a huge PMD leaf invalidates it first (pmdp_invalidate), which is where powerpc serialized.
    private func splitLeaf<P: WalkProtection>(in t: TableIndex, slot: Int, level: Int, base: UInt64,
                                              protection: P, cpu: Int) throws {
        let childLevel = geometry.levels[level + 1]
        precondition(level + 1 == lastLevel, "only huge leaves right above the PTE level are split")
        let child = try pool.allocate()
        let leaf = pool.load(t, slot)
        // The folio stays whole, now mapped by PTEs: each holds a reference (the huge leaf's one
        // becomes the first PTE's), and each PTE says which folio it maps.
        let order = Int(geometry.levels[level].shift - childLevel.shift)
        for i in 0..<childLevel.entries {
            let a = base + UInt64(i) << UInt64(childLevel.shift)
            pool.storeRelaxed(child, i, .leaf(frame: frame(for: a), folioGeneration: leaf.folioGeneration, folioOrder: order))
        }
        _ = pages.map(leaf.frame, refs: UInt32(childLevel.entries - 1))
        pool.adjustLiveCount(child, by: childLevel.entries)
        // The child is fully written before the parent points at it (pmd_populate after the fill).
        pool.storeRelease(t, slot, .table(child, generation: pool.generation(child)))
        // The model swaps leaf for table in one store; the kernel's pmdp_invalidate comes first.
        if isHugePMDLevel(level) { protection.hugePMDChanged(.invalidated, cpu: cpu) }
    }

    /// A leaf at `level` is a huge PMD (where powerpc serialized lockless walkers).
    private func isHugePMDLevel(_ level: Int) -> Bool { level == geometry.hugeLevel && level != lastLevel }

    /// Unmaps everything, finishes the gather and waits for every retired table to be freed.
    /// Afterwards only the root is live.
    public func tearDown<P: WalkProtection>(protection: P, cpu: Int) throws {
        try lock.withWriteLock {
            _ = try unmap(0..<geometry.addressSpaceSize, protection: protection, cpu: cpu)
        }
        protection.drain()
    }
}
