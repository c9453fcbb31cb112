import EventflowCore
import EventflowLog

/// The `unique-users` processor: exact distinct `uid` per tumbling window of `ts`.
///
/// It reads only the key and event time ingest extracted (never the 2 KB bodies). With
/// each commit it stores every changed window's result and the users new to each open
/// window, so a restart rebuilds the open windows' sets exactly; a window's users are
/// deleted when it becomes final.
struct UniqueUsersStep: ProcessorStep {
    static let name = "unique-users"
    static let stream = "frames"

    let configuration: UniqueUsersConfiguration
    let metrics: UniqueUsersMetrics
    let publish: @Sendable ([WindowResult]) -> Void
    private var windows: [UniqueUserWindows]
    private var emitted: [WindowResult] = []
    private var lateDropped: Int64 = 0

    init(configuration: UniqueUsersConfiguration, metrics: UniqueUsersMetrics, publish: @escaping @Sendable ([WindowResult]) -> Void) {
        self.configuration = configuration
        self.metrics = metrics
        self.publish = publish
        windows = configuration.windowSeconds.map { UniqueUserWindows(windowSeconds: $0, latenessSeconds: configuration.latenessSeconds) }
    }

    var name: String { Self.name }
    var stream: String { Self.stream }
    var readsBodies: Bool { false }
    var schema: [String] {
        [
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
    }

    mutating func recover(from state: any ProcessorStateStore) async throws {
        for index in windows.indices {
            let size = windows[index].windowSeconds
            let progress = try await state.queryState(
                StateStatement("SELECT max_event_time_ms FROM unique_users_progress WHERE window_seconds = ?", [.integer(size)]))
            var restored: [(result: WindowResult, users: [UserKey])] = []
            let open = try await state.queryState(
                StateStatement(
                    "SELECT start_s, users, frames, late_dropped, closed FROM unique_users_results WHERE final = 0 AND window_seconds = ?",
                    [.integer(size)]))
            for row in open {
                let start = row.integer(0) ?? 0
                let result = WindowResult(
                    windowSeconds: size, start: start, users: row.integer(1) ?? 0, frames: row.integer(2) ?? 0,
                    lateDropped: row.integer(3) ?? 0, closed: row.integer(4) == 1)
                let members = try await state.queryState(
                    StateStatement(
                        "SELECT uids FROM unique_users_members WHERE window_seconds = ? AND start_s = ?", [.integer(size), .integer(start)]))
                let users = members.flatMap { ($0.text(0) ?? "").split(separator: "\n").map { UserKey(String($0)) } }
                restored.append((result, users))
            }
            windows[index].restore(maxEventTimeMs: progress.first?.integer(0), windows: restored)
        }
    }

    mutating func apply(_ events: [StoredEvent], state: any ProcessorStateStore) async throws {
        for event in events {
            guard let uid = event.key, let eventTimeMs = event.eventTimeMs else { continue }
            let user = UserKey(uid)
            for index in windows.indices {
                windows[index].add(user, eventTimeMs: eventTimeMs)
            }
        }
    }

    mutating func flush(cursor: Int64) -> [StateStatement] {
        var statements: [StateStatement] = []
        var results: [[StateValue]] = []
        var lateRows: [[StateValue]] = []
        var memberRows: [[StateValue]] = []
        var progress: [[StateValue]] = []
        for index in windows.indices {
            let changes = windows[index].drainChanges()
            let size = windows[index].windowSeconds
            for result in changes.results {
                results.append([
                    .integer(size), .integer(result.start), .integer(result.end), .integer(result.users), .integer(result.frames),
                    .integer(result.lateDropped), .integer(result.closed ? 1 : 0), .integer(result.final ? 1 : 0),
                ])
            }
            for (start, count) in changes.lateDroppedInFinalWindows {
                lateRows.append([.integer(size), .integer(start), .integer(start + size), .integer(count)])
            }
            lateDropped += changes.lateDropped
            for (start, users) in changes.newUsers {
                memberRows.append([.integer(size), .integer(start), .integer(cursor), .text(users.map(\.uid).joined(separator: "\n"))])
            }
            statements += StateStatement.whereIn(
                "DELETE FROM unique_users_members WHERE window_seconds = \(size) AND start_s", changes.finalized.map(StateValue.integer))
            if let maxEventTimeMs = windows[index].maxEventTimeMs { progress.append([.integer(size), .integer(maxEventTimeMs)]) }
            emitted += changes.emitted
        }
        statements += StateStatement.insertRows(
            "INSERT INTO unique_users_results (window_seconds, start_s, end_s, users, frames, late_dropped, closed, final)", rows: results,
            tail: """
                ON CONFLICT (window_seconds, start_s) DO UPDATE SET users = excluded.users, frames = excluded.frames, \
                late_dropped = excluded.late_dropped, closed = excluded.closed, final = excluded.final
                """)
        statements += StateStatement.insertRows(
            "INSERT INTO unique_users_results (window_seconds, start_s, end_s, late_dropped, users, frames, closed, final)",
            rows: lateRows.map { $0 + [.integer(0), .integer(0), .integer(1), .integer(1)] },
            tail: "ON CONFLICT (window_seconds, start_s) DO UPDATE SET late_dropped = unique_users_results.late_dropped + excluded.late_dropped")
        statements += StateStatement.insertRows("INSERT INTO unique_users_members (window_seconds, start_s, seq, uids)", rows: memberRows)
        statements += StateStatement.insertRows(
            "INSERT INTO unique_users_progress (window_seconds, max_event_time_ms)", rows: progress,
            tail: "ON CONFLICT (window_seconds) DO UPDATE SET max_event_time_ms = excluded.max_event_time_ms")
        return statements
    }

    mutating func didCommit() {
        metrics.lateDropped.increment(by: lateDropped)
        for window in windows {
            metrics.openWindows[window.windowSeconds]?.set(Double(window.openWindowCount))
        }
        metrics.emitted.increment(by: Int64(emitted.count))
        if !emitted.isEmpty { publish(emitted) }
        emitted.removeAll(keepingCapacity: true)
        lateDropped = 0
    }
}
