/// The walker registry: one line per walker, read through `forEach` like the strategy registry.
public protocol WalkerVisitor {
    mutating func visit<W: PageWalker>(_ walker: W.Type)
}

public enum Walkers {
    public static func forEach<V: WalkerVisitor>(_ visitor: inout V) {
        visitor.visit(LookupWalker.self)
        visitor.visit(LookupNoRecheckWalker.self)
        visitor.visit(RangeWalker.self)
        visitor.visit(IteratorWalker.self)
        visitor.visit(InlineIteratorWalker.self)
        callbacks(EveryEntryOps.self, &visitor)
        callbacks(PMDEntryOps.self, &visitor)
        callbacks(PTEEntryOps.self, &visitor)
        visitor.visit(CLookupWalker.self)
    }

    /// The callback walker of one ops set, once per dispatch kind.
    private static func callbacks<Ops: CallbackOpsSet, V: WalkerVisitor>(_: Ops.Type, _ visitor: inout V) {
        visitor.visit(CallbackWalker<DirectHooks, Ops>.self)
        visitor.visit(CallbackWalker<ExistentialHooks, Ops>.self)
        visitor.visit(CallbackWalker<ClosureHooks, Ops>.self)
        visitor.visit(CCallbackWalker<CIndirectKernel, Ops>.self)
        visitor.visit(CCallbackWalker<CRetpolineKernel, Ops>.self)
        visitor.visit(CCallbackWalker<CPromotedKernel, Ops>.self)
    }

    public struct Info: Sendable, Hashable {
        public let name: String
        public let summary: String
        public let dispatch: String
        public let revision: Int
        public let takesPTELock: Bool
        public let validationOnly: Bool
    }

    public static let all: [Info] = {
        struct Collect: WalkerVisitor {
            var infos: [Info] = []
            mutating func visit<W: PageWalker>(_ walker: W.Type) {
                infos.append(Info(name: W.name, summary: W.summary, dispatch: W.dispatch, revision: W.revision,
                                  takesPTELock: W.takesPTELock, validationOnly: W.validationOnly))
            }
        }
        var c = Collect()
        forEach(&c)
        return c.infos
    }()

    /// Walker names, each once (a callback walker is registered once per dispatch kind).
    public static var names: [String] {
        var seen: [String] = []
        for i in all where !seen.contains(i.name) { seen.append(i.name) }
        return seen
    }

    /// The dispatch kinds registered for `walker` ("n/a" alone for walkers without hooks).
    public static func dispatches(of walker: String) -> [String] { all.filter { $0.name == walker }.map(\.dispatch) }
}
