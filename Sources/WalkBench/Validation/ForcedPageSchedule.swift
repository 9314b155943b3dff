import Glibc
import Synchronization

/// Forced page schedules: the data page's use-after-free, which table protection alone does not
/// prevent. CPU 0 looks up the first page of a PTE table and stops at `leaf-read`: it has read the
/// pte and holds no reference yet. CPU 1 collapses that table into a huge leaf (khugepaged): it
/// clears the pmd, flushes, freezes the small pages' counts, frees them and maps a new folio whose
/// head is the very frame CPU 0 read. The controller waits for the collapse to finish under the stop
/// or for the strategy's witness that it is held back. Then CPU 0 goes on: try-get, re-check, take.
///
/// - SAFE: the collapse was held back until the walker left (IPI strategies, mmap_lock), or it
///   finished and the walker's try-get failed or its re-check saw the pmd change (a retry); either
///   way the page oracle saw no page of another generation handed over.
/// - UNSAFE: the walker handed over the reused page (`lookup-no-recheck` under RCU): caught by the
///   page oracle.
extension ForcedSchedule {
    /// One page case per strategy that is safe for tables, then the broken walker.
    static var pageCases: [Case] {
        var cases = Strategies.all.filter { $0.guaranteesSafety && !$0.validationOnly }.map {
            Case(name: "\($0.name) page", strategy: $0.name, expected: .safe,
                 summary: "collapse frees the page between the pte read and the try-get: held back, or the re-check retries",
                 pageWalker: LookupWalker.name)
        }
        cases += [
            Case(name: "rcu-memb page no-recheck", strategy: RcuMembProtection.name, expected: .unsafe,
                 summary: "lookup without gup_fast's re-check: the freed small page was reused as the new folio's head",
                 pageWalker: LookupNoRecheckWalker.name),
            Case(name: "irq-disable page no-recheck", strategy: IrqDisableProtection.name, expected: .safe,
                 summary: "without the re-check, but the collapse's flush IPI waits for the IRQ-off walker",
                 pageWalker: LookupNoRecheckWalker.name),
        ]
        return cases
    }

    static func runPage<P: WalkProtection, W: PageWalker>(_ c: Case, _: P.Type, _: W.Type, _ settings: Settings) throws -> Outcome {
        let geometry = settings.geometry
        let coverage = geometry.pteTableCoverage
        var rng = SplitMix64(seed: settings.seed)
        let (mm, base) = try mappedSpace(settings, rng: &rng)
        // The first page of a PTE table: after the collapse it is the new folio's head, so a walker
        // without the re-check finds it allocated again and its try-get succeeds.
        let address = base + rng.below(2) * coverage
        let frame = address >> UInt64(geometry.pageShift)
        let pageGeneration = mm.pages.generation(frame)
        let protection = try P(ProtectionContext(mm: mm, cpuCount: 3, options: c.options))
        let gate = StopGate()
        let walkerCPU = 0, writerCPU = 1, controllerCPU = 2
        let tableUAF = Atomic<Bool>(false)
        let pageUAF = Atomic<Bool>(false)
        let retried = Atomic<Bool>(false)

        var out = Outcome(forcedCase: c)
        out.reproducer = "bench validate --forced --case '\(c.name)' --seed \(settings.seed) --geometry \(geometry.name)"
        out.schedule.append("CPU \(walkerCPU) walks \(W.name) at \(hex(address))")
        func pageFreed() -> Bool { mm.pages.generation(frame) != pageGeneration }
        let deadline = settings.deadline
        func waitFor(_ what: () -> Bool) -> Bool { wait(seconds: deadline, for: what) }

        let walker = try CPUThread {
            protection.cpuStarted(walkerCPU)
            mm.cpumask.set(walkerCPU)
            var w = W(mm: mm, options: WalkOptions())
            var window = StoppingWindow(protection: protection, cpu: walkerCPU,
                                        log: OracleOn(pool: mm.pool, capacity: w.oracleCapacity), gate: gate, pageStop: true)
            protection.beginWalk(cpu: walkerCPU)
            window.log.begin()
            let r = w.walk(at: address, window: &window)
            tableUAF.store(window.log.readFreedTable(), ordering: .relaxed)
            pageUAF.store(window.log.readFreedPage(), ordering: .relaxed)
            retried.store(r.retries != 0, ordering: .relaxed)
            protection.endWalk(cpu: walkerCPU)
            w.releasePages(r)
            protection.quiescent(cpu: walkerCPU)
            window.log.release()
            mm.cpumask.clear(walkerCPU)
            protection.cpuStopping(walkerCPU)
            gate.finished.store(true, ordering: .releasing)
        }

        var writer: ForcedWriter?
        if waitFor({ gate.isStopped(at: .leafRead) || gate.finished.load(ordering: .acquiring) }), gate.isStopped(at: .leafRead) {
            out.schedule.append("CPU \(walkerCPU) stopped at \(ProtocolPoint.leafRead.rawValue)")
            let collapser = try ForcedWriter(cpu: writerCPU, mm: mm, protection: protection, what: "collapse") {
                _ = try mm.collapse(at: address, protection: protection, cpu: writerCPU)
            }
            writer = collapser
            out.schedule.append("CPU \(writerCPU) collapses [\(hex(address)), \(hex(address + coverage))) into a huge leaf")
            // The witness must be of the collapse held back before it frees the page: once the page
            // is freed, a witness (a call_rcu queued for the retired table, say) holds back only the
            // table, so the page's free is checked first. Then the walker waits for the new folio to
            // be mapped on the frame (the collapse does that before it retires the old table, whose
            // free may wait for the walker).
            var witness: String?
            let decided = waitFor {
                if collapser.isDone || pageFreed() { return true }
                witness = protection.freeHeldBack(walker: walkerCPU, writer: writerCPU)
                return witness != nil
            }
            if pageFreed() || collapser.isDone {
                if !waitFor({ collapser.isDone || mm.pages.count(frame) != 0 }) {
                    out.failure = "the collapse freed the page but mapped no new folio in \(Int(deadline)) s"
                } else if pageFreed() {
                    out.freedAt = .leafRead
                    out.schedule.append("the collapse freed the page while CPU \(walkerCPU) stood at \(ProtocolPoint.leafRead.rawValue)")
                } else {
                    out.schedule.append("the collapse finished without freeing the page")
                }
            } else if decided, let witness {
                out.heldBack.append((.leafRead, witness))
                out.schedule.append("held back at \(ProtocolPoint.leafRead.rawValue): \(witness)")
            } else {
                out.failure = "at \(ProtocolPoint.leafRead.rawValue), in \(Int(deadline)) s, the collapse neither finished nor was visibly held back"
            }
        } else {
            out.failure = "CPU \(walkerCPU) did not reach \(ProtocolPoint.leafRead.rawValue)"
        }
        gate.release(.windowClosing)
        walker.join()
        out.useAfterFree = pageUAF.load(ordering: .relaxed) || tableUAF.load(ordering: .relaxed)
        out.walkerRetried = retried.load(ordering: .relaxed)
        out.schedule.append(out.walkerRetried ? "CPU \(walkerCPU) retried (try-get failed or the re-check saw the change)"
                            : "CPU \(walkerCPU) took the page" + (out.useAfterFree ? ": another generation than its pte mapped" : ""))
        try writer?.finish(caseName: c.name, protection: protection, seconds: deadline)
        protection.cpuStarted(controllerCPU)
        protection.drain()
        out.freedInTheEnd = pageFreed()
        try mm.tearDown(protection: protection, cpu: controllerCPU)
        protection.cpuStopping(controllerCPU)
        return out
    }
}

extension ForcedSchedule.Outcome {
    var pageVerdict: String {
        if let failure { return "UNDECIDED: \(failure)" }
        if useAfterFree { return freedAt != nil ? "UNSAFE: page freed and reused under the walker, handed over; caught" : "UNSAFE: use-after-free without a free under the stop" }
        if !heldBack.isEmpty { return "SAFE: held back at \(ProtocolPoint.leafRead.rawValue)" }
        if freedAt != nil && walkerRetried { return "SAFE: page freed under the walker; it retried" }
        return freedAt != nil ? "page freed under the walker, taken, NOT caught by the oracle" : "neither held back nor freed"
    }

    var pageMatches: Bool {
        switch forcedCase.expected {
        case .safe: return !useAfterFree && (!heldBack.isEmpty || (freedAt != nil && walkerRetried))
        case .unsafe: return freedAt != nil && useAfterFree
        }
    }
}
