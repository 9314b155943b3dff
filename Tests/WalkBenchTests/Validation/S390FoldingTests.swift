import Testing
@testable import WalkBench

/// Seed 000: the value-passing gup_fast walk on a 3-level s390 mm breaks Gunthorpe's invariant where it
/// crosses a 2 GiB region-third boundary; pXd_offset_lockless keeps it.
@Suite struct S390FoldingTests {
    static let crossing = S390Folding.populated

    @Test func cellsMatchTheirExpectations() throws {
        let cells = Validation.cells(scenarios: [S390Folding.scenario])
        #expect(Set(cells.map(\.walker)) == [S390Folding.byValueWalker, S390Folding.locklessWalker])
        for cell in cells {
            let outcome = try Validation.run(cell, runner: StrategyTests.runner, settings: Validation.Settings())
            #expect(outcome.matches, "\(cell.walker): \(outcome.verdict)")
            #expect(outcome.observation.tablesFreed == nil)
            #expect(outcome.verdict == (cell.expected == .safe ? "SAFE (every case checked)" : "UNSAFE (\(outcome.observation.trials))"))
        }
    }

    @Test func locklessWalkerReturnsTheRangeWalkerResultAcrossTheBoundary() throws {
        let model = try S390Folding.Model()
        for range in model.sweep {
            let walk = model.walk(range, passing: .lockless)
            #expect(walk.violations.isEmpty, "\(walk.violations.first.map(\.description) ?? "")")
            #expect(walk.result == walk.reference)
        }
        let full = model.walk(Self.crossing, passing: .lockless)
        #expect(full.result.leaves == Int(Self.crossing.count >> 12), "every page of the populated range")
        #expect(full.result.leaves > 0)
    }

    @Test func byValueWalkerStepsOffItsCopyAtTheBoundary() throws {
        let model = try S390Folding.Model()
        let walk = model.walk(Self.crossing, passing: .byValue)
        let stray = walk.violations.filter { $0.kind == .strayStackRead }
        #expect(stray.count == 1)
        let atBoundary = try #require(stray.first)
        #expect(atBoundary.level == .pud)
        #expect(atBoundary.address == S390Folding.boundary)
        #expect(atBoundary.expected == model.expectedPointer(.pud, S390Folding.boundary))
        guard case .stack = atBoundary.dereferenced else {
            Issue.record("pudp++ should have read the stack, read \(atBoundary.dereferenced)")
            return
        }
        // What it read next to the copy was no region-third entry: the pages past 2 GiB are missing.
        #expect(walk.result != walk.reference)
        #expect(walk.result == model.reference(S390Folding.populated.lowerBound..<S390Folding.boundary))
    }

    @Test func byValueWalkerBelowTheBoundaryIsRightButStillReadsTheStack() throws {
        let model = try S390Folding.Model()
        let below = S390Folding.populated.lowerBound..<S390Folding.boundary
        let walk = model.walk(below, passing: .byValue)
        #expect(walk.returnedRightResult)
        // The folded p4d and pud loops dereference the local copies: right value, wrong place.
        #expect(!walk.violations.isEmpty)
        #expect(walk.violations.allSatisfy { $0.kind == .localCopy })
    }

    @Test func addressEndUsesTheUnfoldedSizes() {
        let end: UInt64 = 1 << 40
        #expect(S390Folding.KernelLevel.pgd.addressEnd(0, end) == end)
        #expect(S390Folding.KernelLevel.p4d.addressEnd(0, end) == end)
        #expect(S390Folding.KernelLevel.pud.addressEnd(S390Folding.boundary - 4096, end) == S390Folding.boundary)
        #expect(S390Folding.KernelLevel.pmd.addressEnd(1 << 20, end) == 2 << 20)
    }
}
