import EventflowCore
import EventflowLog

/// The `unique-users` processor's tables: `unique_users_results` (every window's result),
/// `unique_users_members` (the users new to each open window, per commit, so a restart
/// rebuilds the open windows' sets exactly) and `unique_users_progress` (the newest event
/// time per window size). Their schema, the statements the step commits and the queries of
/// its recovery and read API live here only.
struct UniqueUsersStore {
    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS unique_users_results (window_seconds BIGINT NOT NULL, start_s BIGINT NOT NULL, end_s BIGINT NOT NULL, \
        users BIGINT NOT NULL, frames BIGINT NOT NULL, late_dropped BIGINT NOT NULL, closed BIGINT NOT NULL, final BIGINT NOT NULL, \
        PRIMARY KEY (window_seconds, start_s))
        """,
        "CREATE INDEX IF NOT EXISTS unique_users_open ON unique_users_results (final, window_seconds)",
        """
        CREATE TABLE IF NOT EXISTS unique_users_members (window_seconds BIGINT NOT NULL, start_s BIGINT NOT NULL, seq BIGINT NOT NULL, \
        uids TEXT NOT NULL, PRIMARY KEY (window_seconds, start_s, seq))
        """,
        "CREATE TABLE IF NOT EXISTS unique_users_progress (window_seconds BIGINT PRIMARY KEY, max_event_time_ms BIGINT NOT NULL)",
    ]

    let state: any ProcessorStateStore

    // MARK: - Recovery

    /// The newest event time seen for windows of `size` seconds, if any.
    func maxEventTimeMs(windowSeconds size: Int64) async throws -> Int64? {
        try await state.queryState(StateStatement("SELECT max_event_time_ms FROM unique_users_progress WHERE window_seconds = ?", [.integer(size)]))
            .first?.integer(0)
    }

    /// The windows of `size` seconds not yet final, each with its users.
    func openWindows(windowSeconds size: Int64) async throws -> [(result: WindowResult, users: [UserKey])] {
        var restored: [(result: WindowResult, users: [UserKey])] = []
        let open = try await state.queryState(
            StateStatement(
                "SELECT start_s, users, frames, late_dropped, closed FROM unique_users_results WHERE final = 0 AND window_seconds = ?", [.integer(size)]))
        for row in open {
            let start = row.integer(0) ?? 0
            let result = WindowResult(
                windowSeconds: size, start: start, users: row.integer(1) ?? 0, frames: row.integer(2) ?? 0, lateDropped: row.integer(3) ?? 0,
                closed: row.integer(4) == 1)
            let members = try await state.queryState(
                StateStatement("SELECT uids FROM unique_users_members WHERE window_seconds = ? AND start_s = ?", [.integer(size), .integer(start)]))
            restored.append((result, members.flatMap { ($0.text(0) ?? "").split(separator: "\n").map { UserKey(String($0)) } }))
        }
        return restored
    }

    // MARK: - Read API

    /// Results of windows of `size` seconds starting in `[from, to)`, oldest first, at most `limit`.
    func results(windowSeconds size: Int64, from: Int64, to: Int64, limit: Int) async throws -> [WindowResult] {
        let rows = try await state.queryState(
            StateStatement(
                """
                SELECT start_s, users, frames, late_dropped, closed, final FROM unique_users_results \
                WHERE window_seconds = ? AND start_s >= ? AND start_s < ? ORDER BY start_s LIMIT ?
                """, [.integer(size), .integer(from), .integer(to), .integer(Int64(limit))]))
        return rows.map { row in
            WindowResult(
                windowSeconds: size, start: row.integer(0) ?? 0, users: row.integer(1) ?? 0, frames: row.integer(2) ?? 0,
                lateDropped: row.integer(3) ?? 0, closed: row.integer(4) == 1, final: row.integer(5) == 1)
        }
    }

    // MARK: - Commits

    /// The rows one commit writes, gathered over the window sizes so that each table gets
    /// one statement per chunk.
    struct Commit {
        private var results: [[StateValue]] = []
        private var lateRows: [[StateValue]] = []
        private var memberRows: [[StateValue]] = []
        private var progress: [[StateValue]] = []
        private var deletions: [StateStatement] = []

        /// Adds the changes of the windows of `size` seconds; `seq` numbers this commit's member rows.
        mutating func add(_ changes: WindowChanges, windowSeconds size: Int64, seq: Int64, maxEventTimeMs: Int64?) {
            for result in changes.results {
                results.append([
                    .integer(size), .integer(result.start), .integer(result.end), .integer(result.users), .integer(result.frames),
                    .integer(result.lateDropped), .integer(result.closed ? 1 : 0), .integer(result.final ? 1 : 0),
                ])
            }
            for (start, count) in changes.lateDroppedInFinalWindows {
                lateRows.append([.integer(size), .integer(start), .integer(start + size), .integer(count)])
            }
            for (start, users) in changes.newUsers {
                memberRows.append([.integer(size), .integer(start), .integer(seq), .text(users.map(\.uid).joined(separator: "\n"))])
            }
            // A final window's users are not needed again.
            deletions += StateStatement.whereIn(
                "DELETE FROM unique_users_members WHERE window_seconds = \(size) AND start_s", changes.finalized.map(StateValue.integer))
            if let maxEventTimeMs { progress.append([.integer(size), .integer(maxEventTimeMs)]) }
        }

        var statements: [StateStatement] {
            deletions
                + StateStatement.insertRows(
                    "INSERT INTO unique_users_results (window_seconds, start_s, end_s, users, frames, late_dropped, closed, final)", rows: results,
                    tail: """
                        ON CONFLICT (window_seconds, start_s) DO UPDATE SET users = excluded.users, frames = excluded.frames, \
                        late_dropped = excluded.late_dropped, closed = excluded.closed, final = excluded.final
                        """)
                + StateStatement.insertRows(
                    "INSERT INTO unique_users_results (window_seconds, start_s, end_s, late_dropped, users, frames, closed, final)",
                    rows: lateRows.map { $0 + [.integer(0), .integer(0), .integer(1), .integer(1)] },
                    tail: "ON CONFLICT (window_seconds, start_s) DO UPDATE SET late_dropped = unique_users_results.late_dropped + excluded.late_dropped")
                + StateStatement.insertRows("INSERT INTO unique_users_members (window_seconds, start_s, seq, uids)", rows: memberRows)
                + StateStatement.insertRows(
                    "INSERT INTO unique_users_progress (window_seconds, max_event_time_ms)", rows: progress,
                    tail: "ON CONFLICT (window_seconds) DO UPDATE SET max_event_time_ms = excluded.max_event_time_ms")
        }
    }
}
