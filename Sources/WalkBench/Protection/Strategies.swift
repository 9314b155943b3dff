/// The strategy registry: one line per strategy. Everything else (bench list, name validation, the
/// validation matrix, the tests) reads it through `forEach`, which hands each concrete type to a
/// visitor so the walk loop is specialised for it.
public protocol StrategyVisitor {
    mutating func visit<P: WalkProtection>(_ strategy: P.Type)
}

public enum Strategies {
    public static func forEach<V: StrategyVisitor>(_ visitor: inout V) {
        visitor.visit(NoProtection.self)
        visitor.visit(MmapLockProtection.self)
        visitor.visit(IrqDisableProtection.self)
        visitor.visit(IrqDisableRcuFreeProtection.self)
        visitor.visit(InvlpgbProtection.self)
        visitor.visit(IrqDisableMembarrierProtection.self)
        visitor.visit(CountedProtection.self)
        visitor.visit(CountedPerCPUProtection.self)
        visitor.visit(CountedIPISkipProtection.self)
        visitor.visit(CountedEarlyDecProtection.self)
        visitor.visit(PpcSerializeProtection.self)
        visitor.visit(PpcSerializeCountedProtection.self)
        visitor.visit(Ppc58Protection.self)
        visitor.visit(PpcCountedIrqOnProtection.self)
        visitor.visit(RcuMembProtection.self)
        visitor.visit(RcuQsbrProtection.self)
        visitor.visit(RcuMembIrqProtection.self)
        visitor.visit(RcuQsbrEarlyQSProtection.self)
    }

    public struct Info: Sendable, Hashable {
        public let name: String
        public let summary: String
        public let kernel: String
        public let guaranteesSafety: Bool
        public let validationOnly: Bool
        public let sendsTLBShootdowns: Bool
        public let batchesTables: Bool
        public let revision: Int
        public let inDefaultSuite: Bool
        public let cpumaskPolicy: CPUMaskPolicy
        public let walkersMaskInterrupts: Bool
    }

    public static let all: [Info] = {
        struct Collect: StrategyVisitor {
            var infos: [Info] = []
            mutating func visit<P: WalkProtection>(_ strategy: P.Type) {
                infos.append(Info(name: P.name, summary: P.summary, kernel: P.kernel, guaranteesSafety: P.guaranteesSafety,
                                  validationOnly: P.validationOnly, sendsTLBShootdowns: P.sendsTLBShootdowns,
                                  batchesTables: P.batchesTables, revision: P.revision,
                                  inDefaultSuite: P.inDefaultSuite, cpumaskPolicy: P.cpumaskPolicy,
                                  walkersMaskInterrupts: P.walkersMaskInterrupts))
            }
        }
        var c = Collect()
        forEach(&c)
        return c.infos
    }()

    public static var names: [String] { all.map(\.name) }
    /// What `bench run` runs when no strategies are named: everything but the deliberately broken and
    /// the families run by name (the powerpc history).
    public static var defaultNames: [String] { all.filter(\.inDefaultSuite).map(\.name) }
}
