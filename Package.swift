// swift-tools-version: 6.1
//
// walkbench: what a lockless page-table walk costs under each way of keeping table pages alive.
//
// Flags, and why:
// - WalkBench is one module so the hot path (strategy × walker × oracle mode) specialises across files;
//   it is built with -O by `swift build -c release` and needs no unsafe flags.
// - CWalkSupport holds what Swift's Glibc module cannot reach (rdtsc, pause, affinity, renameat2,
//   a writer-preferring rwlock); its hot helpers are static inline so they inline into Swift.
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
        .target(
            name: "WalkBench",
            dependencies: [
                "CWalkSupport",
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
