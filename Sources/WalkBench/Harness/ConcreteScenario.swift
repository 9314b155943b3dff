/// Work to do with a scenario once its strategy, walker and oracle mode are concrete types.
protocol ScenarioBody {
    associatedtype Output
    func run<P: WalkProtection, W: PageWalker, L: OracleLog>(_ scenario: Scenario, _: P.Type, _: W.Type, _: L.Type) throws -> Output
}

extension Scenario {
    /// Turns the scenario's names into concrete types through the registries' visitors and runs `body`
    /// with them, so `body` is specialised for each (strategy, walker, oracle) with no dynamic dispatch.
    func withConcreteTypes<B: ScenarioBody>(_ body: B) throws -> B.Output {
        var strategies = StrategyPick(scenario: self, body: body)
        Strategies.forEach(&strategies)
        guard let outcome = strategies.outcome else {
            throw Runner.Failure(description: "no strategy \(strategy) / walker \(walker) (\(dispatch)) in the registries")
        }
        return try outcome.get()
    }
}

private struct StrategyPick<B: ScenarioBody>: StrategyVisitor {
    let scenario: Scenario
    let body: B
    var outcome: Result<B.Output, Error>?

    mutating func visit<P: WalkProtection>(_ strategy: P.Type) {
        guard P.name == scenario.strategy else { return }
        var walkers = WalkerPick<B, P>(scenario: scenario, body: body)
        Walkers.forEach(&walkers)
        outcome = walkers.outcome
    }
}

private struct WalkerPick<B: ScenarioBody, P: WalkProtection>: WalkerVisitor {
    let scenario: Scenario
    let body: B
    var outcome: Result<B.Output, Error>?

    mutating func visit<W: PageWalker>(_ walker: W.Type) {
        guard W.name == scenario.walker && W.dispatch == scenario.dispatch else { return }
        let (s, b) = (scenario, body)
        outcome = Result {
            s.oracle ? try b.run(s, P.self, W.self, OracleOn.self) : try b.run(s, P.self, W.self, OracleOff.self)
        }
    }
}
