// Running the real `bench` binary from the CLI tests: shared by every file of this target.

import Foundation
import Testing

// MARK: - Running the binary

/// The package root: this file is Tests/BenchCLITests/BenchCLITests.swift.
let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // Tests/BenchCLITests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // package root

/// The binary under test: the debug build, or the one WALKBENCH_BENCH names (scripts/sanitize points it
/// at the sanitizer build's, so the CLI tests run the instrumented binary).
let benchPath: String = ProcessInfo.processInfo.environment["WALKBENCH_BENCH"]
    ?? packageRoot.appendingPathComponent(".build/debug/bench").path

/// What one run of `bench` left behind.
struct BenchResult {
    var status: Int32
    var stdout: String
    var stderr: String

    /// The non-empty lines of stderr.
    var stderrLines: [String] {
        stderr.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    var transcript: String { "exit \(status)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)" }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("walkbench-cli-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Runs `bench` with `arguments`, the working directory set to `workDir`, and returns its exit
/// status, stdout and stderr. Output is captured through files in a separate temporary directory
/// (no pipe can fill up and block the child, and `workDir` stays as the binary left it).
/// `path` replaces PATH in the child's environment when given.
func runBench(_ arguments: [String], in workDir: TempDir, path: String? = nil) throws -> BenchResult {
    try runBench(arguments, in: workDir, path: path, whileRunning: nil)
}

/// As `runBench`, and `whileRunning` is called with the running process and a way to read its
/// stderr so far (to wait for an event, then signal it) before the run is waited for.
func runBench(_ arguments: [String], in workDir: TempDir, path: String? = nil,
              whileRunning: ((Process, () -> String) throws -> Void)?) throws -> BenchResult {
    try #require(
        FileManager.default.isExecutableFile(atPath: benchPath),
        "bench executable not found at \(benchPath): run `swift build --product bench` first (the README's test command builds it before `swift test`)"
    )
    let capture = try TempDir()
    defer { capture.remove() }
    let outPath = capture.path("stdout"), errPath = capture.path("stderr")
    try #require(FileManager.default.createFile(atPath: outPath, contents: nil), "cannot create \(outPath)")
    try #require(FileManager.default.createFile(atPath: errPath, contents: nil), "cannot create \(errPath)")
    let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))

    let process = Process()
    process.executableURL = URL(fileURLWithPath: benchPath)
    process.arguments = arguments
    process.currentDirectoryURL = workDir.url
    if let path {
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = path
        process.environment = environment
    }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = outHandle
    process.standardError = errHandle
    try process.run()
    if let whileRunning {
        do { try whileRunning(process, { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }) } catch {
            process.terminate()
            process.waitUntilExit()
            throw error
        }
    }
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()

    let stdout = try String(contentsOfFile: outPath, encoding: .utf8)
    let stderr = try String(contentsOfFile: errPath, encoding: .utf8)
    return BenchResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held. For
/// waiting on an event from a child process: generous deadlines, never a fixed sleep.
func waitUntil(seconds: Double = 120, _ condition: () -> Bool) -> Bool {
    let until = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > until { return false }
        usleep(20_000)
    }
    return true
}
