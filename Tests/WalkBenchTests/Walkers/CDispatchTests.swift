import Foundation
import Testing
@testable import WalkBench

/// The C dispatch kinds of the callback walker and lookup-c: the retpoline is really in the retpoline
/// build and not in the plain one, the C oracle reports what OracleOn would, the injected delay is
/// spun, and lookup-c agrees with lookup. (WalkerAgreementTests checks the C callback kinds against an
/// independent enumeration with every other walker.)
@Suite struct CDispatchTests {
    // MARK: The retpoline is in the binary

    /// This test process's executable (the test bundle), which links both C builds.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// A tool on PATH (or next to the Swift toolchain's clang), first of `names` found.
    static func tool(_ names: [String]) -> String? {
        var dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        dirs += ["/usr/bin", "/opt/swift/usr/bin"]
        for name in names {
            for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
        }
        return nil
    }

    /// Runs `path args`, returns stdout (stderr discarded).
    static func run(_ path: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Symbol names in the executable's symbol table (`nm`: "address type name").
    static func symbols(nm: String) throws -> [String] {
        try run(nm, [executable]).split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
    }

    /// The disassembly of the named functions (GNU objdump: one --disassemble=SYM per run; llvm-objdump:
    /// --disassemble-symbols=a,b).
    static func disassembly(objdump: String, _ syms: [String]) throws -> String {
        if objdump.hasSuffix("llvm-objdump") {
            return try run(objdump, ["--no-show-raw-insn", "--disassemble-symbols=" + syms.joined(separator: ","), executable])
        }
        return try syms.map { try run(objdump, ["--no-show-raw-insn", "--disassemble=" + $0, executable]) }.joined(separator: "\n")
    }

    /// The walk functions of one build (prefix wk_plain_ or wk_retp_): the exported walks and the
    /// per-level loops (static; present as local symbols unless a release build inlined them away).
    static func walkFunctions(_ all: [String], prefix: String, promoted: Bool) -> [String] {
        let style = promoted ? "promoted" : "indirect"
        let loops = ["off", "on"].flatMap { oracle in ["every", "pmd", "pte"].map { prefix + "walk_table_\(style)_\(oracle)_\($0)" } }
        let wanted = [prefix + (promoted ? "callback_walk_promoted" : "callback_walk")] + loops
        return wanted.filter { all.contains($0) }
    }

    /// An indirect call in AT&T syntax: `call *%rax`, `callq *0x8(%rbx)`, `jmp *%r11`.
    static func hasIndirectCall(_ asm: String) -> Bool {
        asm.split(separator: "\n").contains { line in
            let l = line.replacingOccurrences(of: "\t", with: " ")
            return l.contains(" call *") || l.contains(" callq *") || l.contains(" call  *") || l.range(of: #"\scallq?\s+\*"#, options: .regularExpression) != nil
        }
    }

    static func callsRetpoline(_ asm: String) -> Bool {
        asm.split(separator: "\n").contains { $0.contains("call") && $0.contains("__llvm_retpoline_") }
    }

    @Test func retpolineThunkIsInTheRetpolineBuildOnly() throws {
        #if arch(x86_64)
        let nm = try #require(Self.tool(["nm", "llvm-nm"]), "no nm or llvm-nm on PATH")
        let objdump = try #require(Self.tool(["objdump", "llvm-objdump"]), "no objdump or llvm-objdump on PATH")
        let all = try Self.symbols(nm: nm)
        // clang -mretpoline emits its thunks (__llvm_retpoline_r11 and friends) into the object.
        let thunks = all.filter { $0.hasPrefix("__llvm_retpoline_") }
        #expect(!thunks.isEmpty, "no __llvm_retpoline_* symbol in \(Self.executable)")

        let retp = Self.walkFunctions(all, prefix: "wk_retp_", promoted: false)
        let plain = Self.walkFunctions(all, prefix: "wk_plain_", promoted: false)
        let promoted = Self.walkFunctions(all, prefix: "wk_retp_", promoted: true)
        try #require(!retp.isEmpty && !plain.isEmpty && !promoted.isEmpty, "walk functions not found in the symbol table")

        // c-retpoline: the hook calls go through a thunk, and no plain indirect call is left.
        let retpAsm = try Self.disassembly(objdump: objdump, retp)
        #expect(Self.callsRetpoline(retpAsm), "\(retp): no call to __llvm_retpoline_*")
        #expect(!Self.hasIndirectCall(retpAsm), "\(retp): a plain indirect call in the retpoline build")

        // c-indirect: the same source without the flag: plain indirect calls, no thunk.
        let plainAsm = try Self.disassembly(objdump: objdump, plain)
        #expect(!Self.callsRetpoline(plainAsm), "\(plain): calls a retpoline thunk")
        #expect(Self.hasIndirectCall(plainAsm), "\(plain): no indirect call")

        // promoted: direct calls to the known hooks, the thunk kept for a miss.
        let promotedAsm = try Self.disassembly(objdump: objdump, promoted)
        #expect(promotedAsm.contains("<wk_retp_count_pte_entry>"), "\(promoted): no direct call to the pte hook")
        #expect(Self.callsRetpoline(promotedAsm), "\(promoted): no thunk for the fallback call")
        #expect(!Self.hasIndirectCall(promotedAsm))
        #endif
    }

    // MARK: The C walks' semantics

    static let kinds: [String] = [CIndirectKernel.dispatch, CRetpolineKernel.dispatch, CPromotedKernel.dispatch]

    struct Probe {
        var result = WalkResult()
        var readFreed = false
        var seconds = 0.0
    }

    /// Runs the C callback kind `dispatch` (or lookup-c when nil) once with an `L` log.
    struct One<L: OracleLog>: WalkerVisitor {
        let dispatch: String?
        let mm: AddressSpace
        let span: UInt64
        let start: UInt64
        let delayTicks: UInt64
        let takeReference: Bool
        var probe: Probe?
        mutating func visit<W: PageWalker>(_ walker: W.Type) {
            if let dispatch {
                guard W.name == CallbackWalker<DirectHooks, EveryEntryOps>.name && W.dispatch == dispatch else { return }
            } else {
                guard W.name == CLookupWalker.name else { return }
            }
            var w = W(mm: mm, options: WalkOptions(span: span, takeReference: takeReference))
            var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0,
                                log: L(pool: mm.pool, capacity: w.oracleCapacity), delayTicks: delayTicks, timeBase: .fallback)
            defer { window.log.release() }
            window.log.begin()
            let t0 = TimeBase.monotonicNanoseconds()
            let r = w.walk(at: start, window: &window)
            let t1 = TimeBase.monotonicNanoseconds()
            probe = Probe(result: r, readFreed: window.log.readFreedTable(), seconds: Double(t1 - t0) / 1e9)
        }
    }

    static func walk<L: OracleLog>(_ dispatch: String?, mm: AddressSpace, span: UInt64, at start: UInt64,
                                   log: L.Type, delayTicks: UInt64 = 0, takeReference: Bool = false) -> Probe {
        var one = One<L>(dispatch: dispatch, mm: mm, span: span, start: start, delayTicks: delayTicks, takeReference: takeReference)
        Walkers.forEach(&one)
        return one.probe!
    }

    @Test func cKindsAreRegistered() {
        for kind in Self.kinds { #expect(Walkers.dispatches(of: "callback").contains(kind)) }
        #expect(Walkers.all.contains { $0.name == "lookup-c" && $0.dispatch == Dispatch.none })
    }

    /// A table freed while still linked (the walker's stale view): the C oracle sees the moved
    /// generation and the poison, and the window counts it; with the oracle off nothing is reported.
    @Test func freedTableIsReportedThroughTheWindow() throws {
        for kind in Self.kinds + [nil] as [String?] {
            let (mm, none, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 4 << 20)
            var rng = SplitMix64(seed: 41)
            try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
            let address = vma.lowerBound + 8192
            let clean = Self.walk(kind, mm: mm, span: 2 << 20, at: vma.lowerBound, log: OracleOn.self)
            #expect(!clean.readFreed && clean.result.leaves > 0, "\(kind ?? "lookup-c")")

            // Free the first PTE table, then put its old link back: the walk follows a freed table.
            let pmdTable = try #require(try mm.table(at: 2, for: address, create: false))
            let slot = mm.math.index(address, level: 2)
            let stale = mm.pool.load(pmdTable, slot)
            #expect(try mm.unmap(vma.lowerBound..<(vma.lowerBound + (2 << 20)), protection: none, cpu: 1) == 1)
            mm.pool.storeRelease(pmdTable, slot, stale)

            let seen = Self.walk(kind, mm: mm, span: 2 << 20, at: vma.lowerBound, log: OracleOn.self)
            #expect(seen.readFreed, "\(kind ?? "lookup-c"): freed table not reported")
            #expect(seen.result.leaves == 0)
            let blind = Self.walk(kind, mm: mm, span: 2 << 20, at: vma.lowerBound, log: OracleOff.self)
            #expect(!blind.readFreed)
            // Leave the stale link out of the teardown.
            mm.pool.storeRelaxed(pmdTable, slot, .empty)
        }
    }

    /// The window's injected delay is spun before each last-level table (oracle on only).
    @Test func injectedDelayIsSpunBeforeEachLeafTable() throws {
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 4 << 20)
        var rng = SplitMix64(seed: 43)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let delay: UInt64 = 20_000_000  // ns: the fallback clock is CLOCK_MONOTONIC
        for kind in Self.kinds + [nil] as [String?] {
            // Two PTE tables for the callback walk, one for the lookup.
            let tables = kind == nil ? 1.0 : 2.0
            let on = Self.walk(kind, mm: mm, span: 4 << 20, at: vma.lowerBound, log: OracleOn.self, delayTicks: delay)
            #expect(on.seconds >= tables * 0.02, "\(kind ?? "lookup-c"): \(on.seconds) s")
            let off = Self.walk(kind, mm: mm, span: 4 << 20, at: vma.lowerBound, log: OracleOff.self, delayTicks: delay)
            #expect(off.seconds < 0.02, "\(kind ?? "lookup-c"): delay without the oracle")
        }
        try mm.tearDown(protection: none, cpu: 0)
    }

    /// lookup-c finds what lookup finds, on every geometry, with and without the reference + re-check,
    /// and drops every reference it takes.
    @Test(arguments: Geometry.presets)
    func lookupCAgreesWithLookup(_ g: Geometry) throws {
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: 4 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 47)
        try mm.populate(vma, density: 0.7, hugeFraction: 0.5, rng: &rng)
        let reference = LookupWalkerTests.mappedPages(mm)
        var swift = LookupWalker(mm: mm, options: WalkOptions(takeReference: true))
        var c = CLookupWalker(mm: mm, options: WalkOptions(takeReference: true))
        var cNoRef = CLookupWalker(mm: mm, options: WalkOptions(takeReference: false))
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0,
                            log: OracleOn(pool: mm.pool, capacity: LevelMath.maxLevels))
        defer { window.log.release() }
        var hits = 0
        for _ in 0..<2000 {
            let address = vma.lowerBound + rng.below(vma.upperBound - vma.lowerBound)
            window.log.begin()
            let s = swift.walk(at: address, window: &window)
            let r = c.walk(at: address, window: &window)
            let n = cNoRef.walk(at: address, window: &window)
            #expect(!(window.log.readFreedTable() as Bool))
            #expect(r == s && n.leaves == s.leaves && n.frameSum == s.frameSum && n.heldFolio == 0)
            if let frame = reference[address & ~(g.pageSize - 1)] {
                hits += 1
                #expect(r.leaves == 1 && r.frameSum == frame)
            } else {
                #expect(r == .absent)
            }
            swift.releasePages(s)
            c.releasePages(r)
        }
        #expect(hits > 0)
        #expect(LookupWalkerTests.referencesBeyondMappings(mm) == 0, "every reference taken was dropped")
        try mm.tearDown(protection: none, cpu: 0)
    }
}
