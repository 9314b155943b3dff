import Testing
@testable import WalkBench

/// Seed 002: PTE tables read through a kmap_local-like slot stack must be mapped and unmapped LIFO.
@Suite struct HighPTEKmapTests {
    @Test func cellsMatchTheirExpectations() throws {
        let cells = Validation.cells(scenarios: [HighPTEKmap.scenario])
        #expect(Set(cells.map(\.walker)) == [HighPTEKmap.nestedWalker, HighPTEKmap.fifoWalker])
        for cell in cells {
            let outcome = try Validation.run(cell, runner: StrategyTests.runner, settings: Validation.Settings())
            #expect(outcome.matches, "\(cell.walker): \(outcome.verdict)")
            #expect(outcome.observation.tablesFreed == nil)
        }
    }

    @Test func nestedWalkHasNoErrorsAndMatchesRangeWalker() throws {
        let model = try HighPTEKmap.Model()
        var stack = HighPTEKmap.KmapStack(memory: model.mm.pool.memory)
        var walker = HighPTEKmap.KmapWalker(mm: model.mm, discipline: .nested)
        for range in model.sweep {
            let result = walker.walk(range, stack: &stack)
            #expect(result == model.reference(range))
            #expect(result.leaves > 0)
        }
        #expect(stack.errors == HighPTEKmap.Errors())
        #expect(stack.depth == 0)
    }

    @Test func fifoUnmapIsDetected() throws {
        let model = try HighPTEKmap.Model()
        var stack = HighPTEKmap.KmapStack(memory: model.mm.pool.memory)
        var walker = HighPTEKmap.KmapWalker(mm: model.mm, discipline: .fifoUnmap)
        // Two PTE tables: map A, map B, unmap A (not the top: the kernel pops B), read B, unmap B.
        let pmd = model.mm.geometry.pteTableCoverage
        let base = model.populated.lowerBound
        let range = (base + pmd - 8192)..<(base + pmd + 8192)
        let result = walker.walk(range, stack: &stack)
        #expect(stack.errors.outOfOrderUnmaps == 2)
        #expect(stack.errors.staleReads == 2)
        #expect(stack.errors.total > 0)
        #expect(result != model.reference(range))
        // A walk inside one table is correct even with this walker: the bug needs a PMD crossing.
        var single = HighPTEKmap.KmapStack(memory: model.mm.pool.memory)
        let inside = (base + 4096)..<(base + pmd)
        #expect(walker.walk(inside, stack: &single) == model.reference(inside))
        #expect(single.errors.total == 0)
    }

    @Test func depthBeyondKmapTypeNrIsDetected() throws {
        let model = try HighPTEKmap.Model()
        var stack = HighPTEKmap.KmapStack(memory: model.mm.pool.memory)
        var slots: [HighPTEKmap.KmapStack.Slot] = []
        for _ in 0..<HighPTEKmap.KmapStack.slotCount {
            let slot = stack.map(model.mm.root)
            slots.append(try #require(slot))
        }
        #expect(stack.errors.total == 0)
        let beyond = stack.map(model.mm.root)
        #expect(beyond == nil)
        #expect(stack.errors.overflows == 1)
        for slot in slots.reversed() { stack.unmap(slot) }
        #expect(stack.depth == 0)
        #expect(stack.errors.overflows == 1 && stack.errors.total == 1)
        stack.unmap(slots[0])
        #expect(stack.errors.unmapsOfEmptyStack == 1)
    }

    @Test func outOfOrderUnmapTearsDownTheTopMapping() throws {
        let model = try HighPTEKmap.Model()
        var stack = HighPTEKmap.KmapStack(memory: model.mm.pool.memory)
        let mappedFirst = stack.map(model.mm.root)
        let mappedSecond = stack.map(model.mm.root)
        let first = try #require(mappedFirst)
        let second = try #require(mappedSecond)
        stack.unmap(first)  // Linus's "very wrong" order
        #expect(stack.errors.outOfOrderUnmaps == 1)
        let throughFirst = stack.read(first, 0)
        let throughSecond = stack.read(second, 0)
        #expect(throughFirst != nil, "the kernel popped the top slot, so the first stays mapped")
        #expect(throughSecond == nil)
        #expect(stack.errors.staleReads == 1)
    }

    @Test func mapUnmapCostIsMeasured() throws {
        let ns = try HighPTEKmap.mapUnmapCostNanoseconds(timeBase: StrategyTests.runner.timeBase, pairs: 20_000, rounds: 3)
        #expect(ns.isFinite && ns >= 0)
    }
}
