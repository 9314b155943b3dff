/// The workload registry: one line per kind. Each kind's preset is a built-in workload; workload
/// files (WorkloadFile.swift) make more of the same kinds.
public enum Workloads {
    public static let kinds: [any WorkloadKind.Type] = [
        ReadMostly.self,
        UnmapStorm.self,
        ThpChurn.self,
        ZapChurn.self,
        ThpMunmap.self,
    ]

    public static var builtIn: [Workload] { kinds.map { $0.preset } }
    public static var names: [String] { builtIn.map(\.name) }
    /// What `bench run` runs when no workloads are named.
    public static var defaultNames: [String] { kinds.filter { $0.inDefaultSuite }.map { $0.preset.name } }

    public static func kind(named name: String) -> (any WorkloadKind.Type)? { kinds.first { $0.name == name } }
    public static func named(_ name: String) -> Workload? { builtIn.first { $0.name == name } }
}
