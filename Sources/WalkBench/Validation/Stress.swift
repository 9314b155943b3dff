/// `bench validate --stress`: each strategy that promises safety walks at least a given number of
/// times under the most writer pressure the harness can make (unmap-storm with no writer delay, a
/// small mapping so writers keep freeing the tables walkers stand on), on every geometry, with the
/// walkers and dispatch kinds taken in turn so the whole run covers each one, and every other cell
/// oversubscribed (one thread more than the CPUs). The runner's watchdog is on throughout.
///
/// Randomized threads cannot prove safety; what they can say is how often the dangerous moment
/// came and nothing went wrong: `freedDuringWalks` counts the frees made while a walk was open on
/// some walker CPU, the events that would have been use-after-frees had the strategy not held.
public enum Stress {
    public struct Cell: Sendable {
        public let scenario: Scenario
        public var label: String { scenario.label }
    }

    public struct Totals: Sendable {
        public let strategy: String
        public var walks: UInt64 = 0
        public var tablesFreed = 0
        public var freedDuringWalks = 0
        public var detections: UInt64 = 0
        public var seconds = 0.0
        public var cells: [String] = []
        /// Cells that reached their time bound before their share of the walks (mmap-lock's walkers
        /// starve behind a writer that never pauses: that is the strategy, not a fault).
        public var shortCells = 0
    }

    /// The cells for `strategies`: one per geometry, walkers and dispatch kinds rotating across the
    /// whole run, alternate cells with one thread more than `cpus`.
    public static func plan(strategies: [String], cpus: Int) -> [Cell] {
        let walkers = Walkers.all
        var cells: [Cell] = []
        var k = 0
        for strategy in strategies {
            for geometry in Geometry.presets {
                let w = walkers[k % walkers.count]
                var workload = UnmapStorm.preset
                workload.writerDelayNanoseconds = 0
                workload.mappedBytes = 16 * geometry.pteTableCoverage
                let oversubscribed = k % 2 == 1
                let readers = max(1, oversubscribed ? cpus : cpus - 1)
                var s = Scenario(geometry: geometry, workload: workload, strategy: strategy, walker: w.name,
                                 readers: readers, writers: 1, timing: Timing(duration: 1, warmup: 0, repetitions: 1))
                s.dispatch = w.dispatch
                s.walkOptions.span = min(s.walkOptions.span, geometry.pteTableCoverage)
                cells.append(Cell(scenario: s))
                k += 1
            }
        }
        return cells
    }

    /// Runs `cells` (grouped by strategy) until each strategy has walked `walks` times, its walks
    /// spread evenly over its cells, each cell for at most `secondsPerCell`. `progress` gets each
    /// round's line.
    public static func run(_ cells: [Cell], walks: UInt64, secondsPerCell: Double = 60, runner: Runner,
                           progress: (String) -> Void) throws -> [Totals] {
        var order: [String] = []
        var byStrategy: [String: [Cell]] = [:]
        for c in cells {
            if byStrategy[c.scenario.strategy] == nil { order.append(c.scenario.strategy) }
            byStrategy[c.scenario.strategy, default: []].append(c)
        }
        var out: [Totals] = []
        for strategy in order {
            let mine = byStrategy[strategy]!
            let perCell = (walks + UInt64(mine.count) - 1) / UInt64(mine.count)
            var t = Totals(strategy: strategy)
            for cell in mine {
                var done: UInt64 = 0
                var rounds = 0
                var seconds = 0.0
                while done < perCell {
                    if seconds >= secondsPerCell {
                        t.shortCells += 1
                        break
                    }
                    let m = try runner.run(cell.scenario)[0]
                    rounds += 1
                    done &+= m.walks
                    t.walks &+= m.walks
                    t.tablesFreed += m.tablesFreed
                    t.freedDuringWalks += m.tablesFreedDuringWalks ?? 0
                    t.detections &+= m.uafDetected
                    t.seconds += m.measuredSeconds
                    seconds += m.measuredSeconds
                    progress("\(cell.label): \(done) of \(perCell) walks, \(t.detections) detections")
                    // A cell that cannot walk at all would loop for ever: one round without a walk is a failure.
                    if m.walks == 0 { throw Runner.Failure(description: "stress: \(cell.label) walked 0 times in a round") }
                }
                t.cells.append("\(cell.scenario.geometry.name) \(cell.scenario.walker)" + (cell.scenario.dispatch == Dispatch.none ? "" : "/\(cell.scenario.dispatch)")
                               + " r\(cell.scenario.readers)w\(cell.scenario.writers) (\(rounds) s)")
            }
            out.append(t)
        }
        return out
    }
}
