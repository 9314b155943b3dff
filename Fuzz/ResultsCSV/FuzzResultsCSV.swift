// Fuzz target: the result-CSV reader that `bench compare`, `check` and baselines use. Any input must
// give rows or a ResultTable.BadInput error, never a crash; rows it accepts must group into cells.
import Foundation
import WalkBench

func check(_ data: Data) {
    guard let rows = try? ResultTable.parse(data, name: "fuzz input") else { return }
    _ = groupCells(rows)
}

#if FUZZING
import CWalkSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(bytes.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

/// SwiftPM makes an executable's entry point `<module>_main`; under FUZZING it hands over to libFuzzer.
@_cdecl("fuzz_results_csv_main")
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
