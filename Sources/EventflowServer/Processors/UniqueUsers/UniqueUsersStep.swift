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
    var schema: [String] { UniqueUsersStore.schema }

    mutating func recover(from state: any ProcessorStateStore) async throws {
        let store = UniqueUsersStore(state: state)
        for index in windows.indices {
            let size = windows[index].windowSeconds
            windows[index].restore(maxEventTimeMs: try await store.maxEventTimeMs(windowSeconds: size), windows: try await store.openWindows(windowSeconds: size))
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
        var commit = UniqueUsersStore.Commit()
        for index in windows.indices {
            let changes = windows[index].drainChanges()
            commit.add(changes, windowSeconds: windows[index].windowSeconds, seq: cursor, maxEventTimeMs: windows[index].maxEventTimeMs)
            lateDropped += changes.lateDropped
            emitted += changes.emitted
        }
        return commit.statements
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
