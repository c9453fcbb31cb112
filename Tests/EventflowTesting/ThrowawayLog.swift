public import EventflowCore
public import EventflowLog
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The storage engines the log contract runs against.
public enum LogBackend: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    /// A new, empty place for a log of this backend.
    public func fresh() async throws -> LogLocation {
        switch self {
        case .sqlite: .directory(temporaryDirectory())
        case .postgres: .postgres(try await TestPostgres.freshDatabase())
        }
    }
}

/// Where a test's log lives; opening the same location again reopens the same log.
public enum LogLocation: Sendable {
    case directory(String)
    case postgres(PostgresURL)
}

/// Log records with the given ids, each with a key and an event time.
public func records(_ ids: [String]) -> [LogRecord] {
    ids.map { LogRecord(id: $0, key: "key-\($0)", eventTimeMs: 1_000, body: ByteBuffer(string: #"{"id":"\#($0)"}"#)) }
}

/// Opens a log at `location`, runs it as a service while `body` runs with its jobs, then shuts it down gracefully.
public func withLog(
    _ location: LogLocation,
    limits: GroupCommitLimits = GroupCommitLimits(),
    maxDatabaseBytes: Int? = nil,
    leaseDuration: Duration = .seconds(5),
    onCommit: @escaping @Sendable (CommitStats) -> Void = { _ in },
    _ body: (EventStorage, LogLocation) async throws -> Void
) async throws {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let streams = ["events", "frames"]
    let storage: EventStorage
    switch location {
    case .directory(let directory):
        storage = try await SQLiteEventLog.open(
            configuration: LogConfiguration(
                dataDirectory: directory, streams: streams, groupCommit: limits, maxDatabaseBytes: maxDatabaseBytes, onCommit: onCommit),
            logger: logger
        ).storage
    case .postgres(let url):
        storage = try await PostgresEventLog.open(
            configuration: PostgresLogConfiguration(url: url, streams: streams, groupCommit: limits, leaseDuration: leaseDuration, onCommit: onCommit),
            logger: logger
        ).storage
    }
    let group = ServiceGroup(services: [storage.service], gracefulShutdownSignals: [], logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body(storage, location)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
