// swift-tools-version: 6.1
//
// walkbench: what a lockless page-table walk costs under each way of keeping table pages alive.
//
// Flags, and why:
// - WalkBench is one module so the hot path (strategy × walker × oracle mode) specialises across files;
//   it is built with -O by `swift build -c release` and needs no unsafe flags.
// - CWalkSupport holds what Swift's Glibc module cannot reach (rdtsc, pause, affinity, renameat2,
//   a writer-preferring rwlock); its hot helpers are static inline so they inline into Swift.
// - CURCUMemb, CURCUQsbr: liburcu 0.13 (Debian liburcu-dev), one system-library module per flavour,
//   because urcu/call-rcu.h is include-guarded and bound to the first flavour included, so the memb
//   and qsbr headers cannot share a translation unit. Flags come from pkg-config (liburcu-memb.pc /
//   liburcu-qsbr.pc): -I/usr/include/x86_64-linux-gnu, -lurcu-memb or -lurcu-qsbr, -lurcu-common.
//   The one define, _LGPL_SOURCE, is set at the top of each shim.h (a system library target takes no
//   cSettings): it selects urcu's static inline read side (urcu/static/urcu-*.h) instead of the
//   library's out-of-line read_lock/read_unlock, so with the shims' static inline wrappers the read
//   side inlines into the Swift walk loop. No other -D: DEBUG_RCU / CONFIG_RCU_DEBUG stay undefined,
//   so urcu_assert compiles to nothing. No TLS-model flag either: the reader state is an extern
//   __thread in liburcu's .so, and linking the executable relaxes its access to initial-exec
//   (%fs-relative, hoisted out of the walk loop), so no __tls_get_addr call is left in a walk.
import PackageDescription
import class Foundation.ProcessInfo

// package-benchmark (Benchmarks/WalkBenchmarks, run by `swift package benchmark`; `make benchmark`).
// `swift build --build-tests` builds every target of the root package: with the suite in the graph it
// took 28 s longer on the 2-core development VM (its library, six more packages and the suite, debug),
// and CI would fetch those packages on every run. So `make test` (and CI) set WALKBENCH_NO_BENCHMARKS=1
// to leave the dependency and the target out of the graph; switching between the two graphs rebuilt
// nothing (2.9 s). Everything else
// sees them: `swift package benchmark` works from a fresh clone without any setting. MallocInterposer is
// package-benchmark's malloc counter on Swift 6.3 (no jemalloc needed): mallocCountTotal is what the walk
// benchmarks gate on.
let withBenchmarks = ProcessInfo.processInfo.environment["WALKBENCH_NO_BENCHMARKS"] == nil
let benchmarkDependencies: [Package.Dependency] = withBenchmarks
    ? [.package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"])]
    : []
let benchmarkTargets: [Target] = withBenchmarks
    ? [
        .executableTarget(
            name: "WalkBenchmarks",
            dependencies: [
                "WalkBench",
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/WalkBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
    : []

let package = Package(
    name: "walkbench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bench", targets: ["bench"]),
        .library(name: "WalkBench", targets: ["WalkBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ] + benchmarkDependencies,
    targets: [
        .target(
            name: "CWalkSupport",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .systemLibrary(
            name: "CURCUMemb",
            pkgConfig: "liburcu-memb",
            providers: [.apt(["liburcu-dev"])]
        ),
        .systemLibrary(
            name: "CURCUQsbr",
            pkgConfig: "liburcu-qsbr",
            providers: [.apt(["liburcu-dev"])]
        ),
        // PAPI and its software-defined-events library (Debian libpapi-dev): hardware counters where a
        // PMU exists, the strategies' own events everywhere. Flags from pkg-config (papi.pc: -lpapi);
        // the module map adds -lsde for papi_sde_*. shim.h turns PAPI's macros into functions.
        .systemLibrary(
            name: "CPAPI",
            pkgConfig: "papi",
            providers: [.apt(["libpapi-dev"])]
        ),
        // The C callback walker (dispatch kinds c-indirect, c-retpoline, promoted) and the C lookup
        // (lookup-c): one implementation, Sources/CWalkKernels/walk_impl.h, compiled twice.
        // CWalkKernels is the plain build: no flags of ours (SwiftPM's -O2 -fno-omit-frame-pointer in
        // release), so a hook call is `call *reg`. It holds the shared types (include/walkkernels.h) and
        // the lookup reference.
        .target(
            name: "CWalkKernels",
            dependencies: ["CWalkSupport"]
        ),
        // The same walk_impl.h under a different name prefix, compiled with -mretpoline: clang then
        // routes every indirect call and jump through an __llvm_retpoline_<reg> thunk it emits itself
        // (and emits no jump tables), as a CONFIG_RETPOLINE kernel does with its external thunks
        // (-mretpoline-external-thunk). It is what the c-retpoline and promoted kinds measure; SwiftPM has
        // no typed setting for code-generation options, hence unsafeFlags (allowed in a root package).
        .target(
            name: "CWalkKernelsRetpoline",
            dependencies: ["CWalkKernels", "CWalkSupport"],
            cSettings: [.unsafeFlags(["-mretpoline"])]
        ),
        .target(
            name: "WalkBench",
            dependencies: [
                "CWalkSupport",
                "CWalkKernels",
                "CWalkKernelsRetpoline",
                "CURCUMemb",
                "CURCUQsbr",
                "CPAPI",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            plugins: ["GitRevision"]
        ),
        // Embeds the checkout's revision at build time: rows name the commit their binary came from.
        .plugin(name: "GitRevision", capability: .buildTool()),
        .executableTarget(
            name: "bench",
            dependencies: [
                "WalkBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets for the two parsers that read files users hand in (workload files) or keep
        // (result CSVs and baselines). Built plainly they replay a corpus; `make fuzz` builds them with
        // -DFUZZING and -sanitize=fuzzer,address, and libFuzzer drives them (Fuzz/README.md).
        .executableTarget(
            name: "fuzz-workload-file",
            dependencies: ["WalkBench", "CWalkSupport"],
            path: "Fuzz/WorkloadFile"
        ),
        .executableTarget(
            name: "fuzz-results-csv",
            dependencies: ["WalkBench", "CWalkSupport"],
            path: "Fuzz/ResultsCSV"
        ),
        .testTarget(
            name: "WalkBenchTests",
            dependencies: ["WalkBench", "CWalkSupport"],
            // Data files the report tests read by path (a 16-CPU run, trimmed).
            exclude: ["Report/Fixtures"]
        ),
        .testTarget(
            name: "BenchCLITests",
            dependencies: ["WalkBench"]
        ),
    ] + benchmarkTargets,
    swiftLanguageModes: [.v6]
)
