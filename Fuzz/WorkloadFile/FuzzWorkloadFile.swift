// Fuzz target: the workload-file parser (`--workload-file`). Any input must give workloads or a
// WorkloadFile.Invalid error, never a crash; a workload it accepts must pass the checks a run makes.
import Foundation
import WalkBench

func check(_ data: Data) {
    guard let workloads = try? WorkloadFile.parse(data, name: "fuzz input") else { return }
    for w in workloads {
        precondition(!w.name.isEmpty && w.mappedBytes > 0, "accepted a workload a run cannot use: \(w)")
        precondition((0...1).contains(w.density) && (0...1).contains(w.hugeFraction), "accepted out-of-range fractions: \(w)")
    }
}

#if FUZZING
import CWalkSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(bytes.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

/// SwiftPM makes an executable's entry point `<module>_main`; under FUZZING it hands over to libFuzzer.
@_cdecl("fuzz_workload_file_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { fuzzOne($0, $1) }
}
#else
/// Replay: every file named on the command line (or in the directories named) goes through the parser.
@main struct Replay {
    static func main() { ReplayCorpus.run(CommandLine.arguments.dropFirst(), check) }
}
#endif
