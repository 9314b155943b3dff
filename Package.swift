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
//   so urcu_assert compiles to nothing.
import PackageDescription

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
    ],
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
        .target(
            name: "WalkBench",
            dependencies: [
                "CWalkSupport",
                "CURCUMemb",
                "CURCUQsbr",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "bench",
            dependencies: [
                "WalkBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "WalkBenchTests",
            dependencies: ["WalkBench", "CWalkSupport"]
        ),
        .testTarget(
            name: "BenchCLITests",
            dependencies: ["WalkBench"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
