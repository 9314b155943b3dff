import CWalkSupport

/// SIGINT and SIGTERM, turned from "die now" into "stop between cells": the handler (C, async-signal
/// safe) records the first signal; measuring loops ask `received` before each cell, so the cells
/// already finished are written whole and nothing is half-measured.
public enum StopSignals {
    /// Installs the handlers (idempotent). Returns an errno value, or 0.
    @discardableResult
    public static func install() -> Int32 { wb_stop_signals_install() }
    /// The signal that asked to stop, or 0.
    public static var received: Int32 { wb_stop_signal() }
}
