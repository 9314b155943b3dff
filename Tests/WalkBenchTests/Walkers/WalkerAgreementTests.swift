import Testing
@testable import WalkBench

/// Every walker (and every dispatch kind of the callback walker) does the same work; on a quiescent
/// table they must all return what an independent enumeration of the table says is mapped.
@Suite struct WalkerAgreementTests {
    /// Runs the registered walker `info` once over [start, start + span).
    struct RunOne: WalkerVisitor {
        let info: Walkers.Info
        let mm: AddressSpace
        let span: UInt64
        let start: UInt64
        var result: WalkResult?
        mutating func visit<W: PageWalker>(_ walker: W.Type) {
            guard W.name == info.name && W.dispatch == info.dispatch else { return }
            var w = W(mm: mm, options: WalkOptions(span: span, takeReference: false))
            var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0,
                                log: OracleOn(pool: mm.pool, capacity: w.oracleCapacity))
            defer { window.log.release() }
            window.log.begin()
            result = w.walk(at: start, window: &window)
            #expect(!(window.log.readFreedTable() as Bool))
        }
    }

    static func expected(_ pages: [UInt64: UInt64], _ start: UInt64, _ span: UInt64, pageSize: UInt64) -> WalkResult {
        var r = WalkResult()
        var a = start
        while a < start + span {
            if let f = pages[a] { r.leaves += 1; r.frameSum &+= f }
            a += pageSize
        }
        return r
    }

    @Test(arguments: Geometry.presets)
    func allWalkersAgree(_ g: Geometry) throws {
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: 6 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 31)
        try mm.populate(vma, density: 0.6, hugeFraction: 0.4, rng: &rng)
        let pages = LookupWalkerTests.mappedPages(mm)
        let pageSize = g.pageSize
        // Spans: one page, a PTE table's reach (crossing a boundary), several tables.
        let spans = [pageSize, g.pteTableCoverage, 3 * g.pteTableCoverage + 5 * pageSize]
        for span in spans {
            for _ in 0..<4 {
                let start = vma.lowerBound + (rng.below(vma.upperBound - vma.lowerBound - span) & ~(pageSize - 1))
                let want = Self.expected(pages, start, span, pageSize: pageSize)
                for info in Walkers.all {
                    var one = RunOne(info: info, mm: mm, span: span, start: start)
                    Walkers.forEach(&one)
                    let got = try #require(one.result, "walker \(info.name)/\(info.dispatch) not run")
                    if [LookupWalker.name, CLookupWalker.name, LookupNoRecheckWalker.name].contains(info.name) {
                        // A lookup resolves the first page of the span.
                        #expect(got == Self.expected(pages, start, pageSize, pageSize: pageSize), "lookup on \(g.name)")
                    } else {
                        #expect(got == want, "\(info.name)/\(info.dispatch) on \(g.name), span \(span)")
                    }
                }
            }
        }
        try mm.tearDown(protection: none, cpu: 0)
    }

    @Test func everyDispatchKindIsRegistered() {
        #expect(Set(Walkers.dispatches(of: "callback")) == Set(Dispatch.names))
        #expect(Walkers.names.contains("range") && Walkers.names.contains("iterator") && Walkers.names.contains("lookup"))
    }
}
