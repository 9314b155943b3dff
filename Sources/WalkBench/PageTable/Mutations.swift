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
                    for a in chosen {
                        let slot = math.index(a, level: lastLevel)
                        guard !pool.load(pte, slot).isPresent else { continue }
                        // set_pte_at: release stands for the barrier that orders the page's contents first.
                        pool.storeRelease(pte, slot, .leaf(frame: frame(for: a)))
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
        pool.storeRelease(t, slot, .leaf(frame: frame(for: address)))
        pool.adjustLiveCount(t, by: 1)
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

    /// THP collapse (khugepaged): replaces the PTE table under `address` with a huge leaf. The pmd is
    /// cleared and the gather flushed (pmdp_collapse_flush's IPI) before the table is retired and the
    /// huge leaf installed. Returns false when there was no PTE table there.
    @discardableResult
    public func collapse<P: WalkProtection>(at address: UInt64, protection: P, cpu: Int) throws -> Bool {
        let hugeLevel = geometry.hugeLevel
        guard geometry.supportsHugeLeaves,
              let t = try table(at: hugeLevel, for: address, create: false) else { return false }
        let slot = math.index(address, level: hugeLevel)
        let e = pool.load(t, slot)
        guard e.isTable else { return false }
        // The PTE table's lock while the pmd goes: a walker holding it finishes its step first, and the
        // next one sees the pmd changed (page_vma_mapped_walk's !pmd_same) and restarts.
        pool.pteLocks.lock(e.tableIndex)
        pool.storeRelaxed(t, slot, .empty)
        pool.pteLocks.unlock(e.tableIndex)
        protection.hugePMDChanged(.collapsed, cpu: cpu)
        pool.noteRetired(e.tableIndex, bytes: geometry.levels[hugeLevel + 1].entries * 8)
        protection.retireDeferred(e.tableIndex, cpu: cpu)
        let base = address & ~(geometry.pteTableCoverage - 1)
        pool.storeRelease(t, slot, .leaf(frame: frame(for: base)))
        return true
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
        let child = try pool.allocate()
        for i in 0..<childLevel.entries {
            let a = base + UInt64(i) << UInt64(childLevel.shift)
            pool.storeRelaxed(child, i, .leaf(frame: frame(for: a)))
        }
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
