#if canImport(Glibc)
import Glibc
#endif

/// The model checker's verdicts (Models/, `make verify`) beside bench validate's runtime ones.
///
/// `scripts/verify` writes one row per model run to `.build/verify/verdicts.tsv`; this reads it and
/// says, for a validation cell or forced case, which model run stands for it. The models are of the
/// protocols, not of this code: a model verdict says the protocol is sound (or not) for every
/// interleaving and every store-buffer behaviour within its bounds; the runtime verdict says what
/// this implementation did.
public enum ProtocolModels {
    /// Where `make verify` leaves its verdicts, relative to the package root (the working directory of
    /// `make` and `swift run`).
    public static let verdictsPath = ".build/verify/verdicts.tsv"

    /// Strategies that promise safety and have no model, and why.
    public static let notModelled: [String: String] = [
        MmapLockProtection.name: "the walker holds the mmap lock the freer needs: a lock, not a lockless protocol",
    ]

    public struct Row: Sendable, Equatable {
        public let run: String
        public let memory: String
        public let expected: String
        public let verdict: String
        public let states: Int?
    }

    /// The rows of a verdicts file; nil if there is none (make verify has not run here).
    public static func load(path: String = verdictsPath) -> [Row]? {
        guard let text = readText(path) else { return nil }
        var lines = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first else { return [] }
        lines.removeFirst()
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        guard let run = column("run"), let memory = column("memory"), let expected = column("expected"),
              let verdict = column("verdict"), let states = column("states") else { return [] }
        let width = [run, memory, expected, verdict, states].max()!
        return lines.filter { $0.count > width }.map {
            Row(run: $0[run], memory: $0[memory], expected: $0[expected], verdict: $0[verdict], states: Int($0[states]))
        }
    }

    /// The model run ids (scripts/verify's first column) for a validation cell: which protocol, and
    /// which variant of it, the cell exercises. Empty where no model applies.
    public static func runs(scenario: String, strategy: String, walker: String) -> [String] {
        switch (scenario, strategy) {
        case ("foreign-mm", IrqDisableProtection.name): return ["irq-disable foreign-mm"]
        case ("foreign-mm", IrqDisableRcuFreeProtection.name): return ["irq-disable-rcu foreign-mm"]
        case ("foreign-mm", InvlpgbProtection.name): return ["invlpgb foreign-mm"]
        case ("lazy-tlb", IrqDisableProtection.name):
            return walker.contains(LazyTLB.skipEvenWhenFreeing.rawValue) ? ["irq-disable lazy-skip"] : ["irq-disable lazy"]
        case ("rcu-fallback", RcuMembProtection.name):
            // PT_RECLAIM and collapse free through call_rcu: the grace-period model, not the fallback's.
            return walker.contains("pt-reclaim") || walker.contains("collapse") ? [RcuMembProtection.name] : ["rcu-memb fallback"]
        case ("rcu-fallback", RcuQsbrProtection.name): return ["rcu-qsbr fallback"]
        case ("rcu-fallback", RcuMembIrqProtection.name): return ["rcu-memb-irq fallback"]
        case (S390Folding.scenario, _), (HighPTEKmap.scenario, _): return []
        default: return runs(strategy: strategy)
        }
    }

    /// The model runs a forced-schedule case corresponds to.
    public static func runs(forcedCase c: ForcedSchedule.Case) -> [String] {
        if let walker = c.pageWalker { return pageRuns(strategy: c.strategy, walker: walker) }
        switch c.name {
        case "irq-disable lazy-walker": return ["irq-disable lazy"]
        case "irq-disable-rcu foreign-mm", "invlpgb foreign-mm", "rcu-memb-irq fallback", "irq-disable foreign-mm",
             "irq-disable lazy-skip", "rcu-memb fallback", "rcu-qsbr fallback": return [c.name]
        case "rcu-memb foreign-mm", "rcu-memb fallback pt-reclaim": return [RcuMembProtection.name]
        default: return runs(strategy: c.strategy)
        }
    }

    /// Strategies whose THP-collapse flush (pmdp_collapse_flush) sends an IPI to the walker's CPU and
    /// waits for the ack, which an IRQ-off walker gives only after its try-get: Models/page.pml's
    /// default variant. Every other strategy is its -DBROADCAST variant (the flush waits for no one);
    /// those that hold the collapse back by other means (a count, a flag) only take schedules away.
    static let collapseFlushWaitsForWalkers: Set<String> = [
        IrqDisableProtection.name, IrqDisableRcuFreeProtection.name, CountedIPISkipProtection.name,
        PpcSerializeProtection.name, PpcSerializeCountedProtection.name, Ppc58Protection.name,
    ]

    /// The page model's run for a page walker under a strategy (Models/page.pml).
    static func pageRuns(strategy: String, walker: String) -> [String] {
        guard strategy != MmapLockProtection.name, strategy != NoProtection.name else { return [] }
        let recheck = walker == LookupNoRecheckWalker.name ? "no-recheck" : "recheck"
        return ["page \(recheck) \(collapseFlushWaitsForWalkers.contains(strategy) ? "ipi" : "rcu")"]
    }

    /// The plain protocol run of a strategy (its own name, or the model it shares).
    static func runs(strategy: String) -> [String] {
        switch strategy {
        case PpcSerializeProtection.name, Ppc58Protection.name: return ["ppc-serialize", "rcu-table-free irq-off"]
        case PpcSerializeCountedProtection.name: return [CountedIPISkipProtection.name, "rcu-table-free irq-off"]
        case NoProtection.name, MmapLockProtection.name: return []
        default: return [strategy]
        }
    }

    /// "model: verified (N states)" or "model: counterexample", per memory model where they differ;
    /// nil where no model run applies or none was found in `rows`.
    public static func summary(runs ids: [String], rows: [Row]) -> String? {
        let mine = rows.filter { ids.contains($0.run) }
        guard !mine.isEmpty else { return nil }
        var parts: [String] = []
        for memory in ["TSO", "WEAK"] {
            let these = mine.filter { $0.memory == memory }
            guard !these.isEmpty else { continue }
            if these.contains(where: { $0.verdict != "verified" && $0.verdict != "counterexample" }) {
                parts.append("\(memory) error")
            } else if these.contains(where: { $0.verdict == "counterexample" }) {
                parts.append("\(memory) counterexample")
            } else {
                parts.append("\(memory) verified (\(these.compactMap(\.states).reduce(0, +)) states)")
            }
        }
        let unexpected = mine.contains { $0.verdict != $0.expected }
        return "model: " + parts.joined(separator: ", ") + (unexpected ? " UNEXPECTED" : "")
    }

    /// The model column for bench validate: the verdict, a hint to run make verify when spin is
    /// installed and no verdicts exist, or nothing when spin is not installed.
    public static func column(runs ids: [String], rows: [Row]?) -> String {
        guard !ids.isEmpty else { return "" }
        if let rows { return summary(runs: ids, rows: rows) ?? "" }
        return spinInstalled ? "model: not run here (make verify)" : ""
    }

    public static var spinInstalled: Bool {
        let path = (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin").split(separator: ":")
        return path.contains { access("\($0)/spin", X_OK) == 0 }
    }

    static func readText(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
