import Testing
@testable import WalkBench

@Suite struct GeometryTests {
    @Test(arguments: Geometry.presets)
    func indicesRebuildTheAddress(_ g: Geometry) {
        var rng = SplitMix64(seed: 7)
        let math = g.math
        for _ in 0..<2000 {
            let address = rng.below(g.addressSpaceSize)
            var rebuilt = address & (g.pageSize - 1)
            for level in 0..<g.levels.count {
                let i = math.index(address, level: level)
                #expect(i == g.index(of: address, at: level))
                #expect(i >= 0 && i < g.levels[level].entries)
                rebuilt |= UInt64(i) << UInt64(g.levels[level].shift)
            }
            #expect(rebuilt == address)
        }
    }

    @Test func x86FourLevelMatchesTheKernel() {
        let g = Geometry.x86_64_4level
        #expect(g.levels.map(\.shift) == [39, 30, 21, 12])  // PGDIR_SHIFT, PUD_SHIFT, PMD_SHIFT, PAGE_SHIFT
        #expect(g.levels.map(\.entries) == [512, 512, 512, 512])
        #expect(g.addressBits == 48)
        #expect(g.pteTableCoverage == 2 << 20)
        let top = UInt64(0x7FFF_FFFF_F000)
        #expect(g.index(of: top, at: 0) == 255)
        #expect(g.index(of: top, at: 3) == 511)
        #expect(g.index(of: 0x20_0000, at: 2) == 1)
    }

    @Test func fiveLevelAddsP4D() {
        let g = Geometry.x86_64_5level
        #expect(g.levels.map(\.name) == ["pgd", "p4d", "pud", "pmd", "pte"])
        #expect(g.addressBits == 57)
    }

    @Test func armAndS390Shapes() {
        #expect(Geometry.arm64_4k_3level.addressBits == 39)
        #expect(Geometry.arm64_64k_3level.levels.map(\.entries) == [1024, 8192, 8192])
        #expect(Geometry.arm64_64k_3level.pageSize == 64 << 10)
        #expect(Geometry.arm64_64k_3level.pteTableCoverage == 512 << 20)
        let s = Geometry.s390_3level
        #expect(s.levels.map(\.entries) == [2048, 2048, 256])
        #expect(s.levels.map(\.shift) == [31, 20, 12])
        #expect(s.pteTableCoverage == 1 << 20)  // a segment maps 1 MiB
        #expect(s.maxEntriesPerTable == 2048)
    }

    @Test func presetNamesAreUniqueAndFindable() {
        let names = Geometry.presets.map(\.name)
        #expect(Set(names).count == names.count)
        for n in names { #expect(Geometry.named(n)?.name == n) }
        #expect(Geometry.named("vax") == nil)
    }
}
