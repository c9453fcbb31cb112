import Logging
import Synchronization

/// Which of a repeated operation's failures (group commits, WAL checkpoints) the log
/// reports, so that an outage is told once and then about once a second, not once per
/// attempt (hundreds a second while the storage is gone).
///
/// A failure is reported when it is the first of a streak, when its message differs from the
/// last one reported, or when `interval` has passed; each report counts the failures it stands
/// for. The first success after a streak says how many commits failed in it.
struct RepeatedFailureReport: Sendable {
    var interval: Duration
    private var lastReport: (message: String, at: ContinuousClock.Instant)?
    private var unreported = 0
    private var streak = 0

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Records a failed commit; returns the failed commits to report now (since the previous
    /// report, this one included), or nil to stay quiet.
    mutating func failed(_ message: String, at now: ContinuousClock.Instant) -> Int? {
        streak += 1
        unreported += 1
        if let lastReport, lastReport.message == message, now - lastReport.at < interval { return nil }
        defer { unreported = 0 }
        lastReport = (message, now)
        return unreported
    }

    /// Records a successful commit; returns how many commits failed before it, or nil when
    /// the previous commit succeeded too.
    mutating func succeeded() -> Int? {
        guard streak > 0 else { return nil }
        defer {
            streak = 0
            unreported = 0
            lastReport = nil
        }
        return streak
    }
}

extension Logger {
    /// Logs a group commit's failure, or the recovery after failures, as `report` decides.
    func logGroupCommit(failure: EventLogError?, events: Int, report: borrowing Mutex<RepeatedFailureReport>) {
        if let failure {
            let message = failure.description
            guard let failed = report.withLock({ $0.failed(message, at: .now) }) else { return }
            error("group commit failed", metadata: ["error": "\(message)", "events": "\(events)", "failed_commits": "\(failed)"])
        } else if let failed = report.withLock({ $0.succeeded() }) {
            notice("group commit succeeded again", metadata: ["failed_commits": "\(failed)"])
        }
    }

    /// Logs a background WAL checkpoint's failure, or the recovery after failures, as `report` decides.
    func logCheckpoint(failure: (any Error)?, report: borrowing Mutex<RepeatedFailureReport>) {
        if let failure {
            let message = String(describing: failure)
            guard let failed = report.withLock({ $0.failed(message, at: .now) }) else { return }
            warning("WAL checkpoint failed", metadata: ["error": "\(message)", "failed_checkpoints": "\(failed)"])
        } else if let failed = report.withLock({ $0.succeeded() }) {
            notice("WAL checkpoint succeeded again", metadata: ["failed_checkpoints": "\(failed)"])
        }
    }
}
