/// The walker registry: one line per walker, read through `forEach` like the strategy registry.
public protocol WalkerVisitor {
    mutating func visit<W: PageWalker>(_ walker: W.Type)
}

public enum Walkers {
    public static func forEach<V: WalkerVisitor>(_ visitor: inout V) {
        visitor.visit(LookupWalker.self)
    }

    public struct Info: Sendable, Hashable {
        public let name: String
        public let summary: String
    }

    public static let all: [Info] = {
        struct Collect: WalkerVisitor {
            var infos: [Info] = []
            mutating func visit<W: PageWalker>(_ walker: W.Type) { infos.append(Info(name: W.name, summary: W.summary)) }
        }
        var c = Collect()
        forEach(&c)
        return c.infos
    }()

    public static var names: [String] { all.map(\.name) }
}
