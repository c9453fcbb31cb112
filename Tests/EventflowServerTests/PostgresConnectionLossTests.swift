import EventflowLog
import NIOCore
import ServiceLifecycle
import Testing

/// The PostgreSQL log when its connection is cut under it (a server restart, an
/// administrator ending the session): the write in progress fails, and the log goes on.
@Suite struct PostgresConnectionLossTests {
    @Test func aCommitWhoseConnectionIsCutFailsAndTheNextWriteReconnects() async throws {
        guard case .postgres(let url) = try await TestStorage.postgres.make() else { return }
        let log = try await PostgresEventLog.open(configuration: PostgresLogConfiguration(url: url, streams: ["events"]), logger: quietLogger)
        let group = ServiceGroup(services: [log], gracefulShutdownSignals: [], logger: quietLogger)
        let running = Task { try await group.run() }
        do {
            try await cutTheWriterDuringACommit(log)
        } catch {
            Issue.record(error)
        }
        await group.triggerGracefulShutdown()
        #expect(await outcome { try await running.value } == "it stopped without an error", "the log did not close")
    }

    /// Cuts the writer's connection while it commits a slow step, then checks that the commit
    /// failed and that the log still appends. Returns early, rather than throwing, on a failed
    /// expectation, so the caller always closes the log.
    private func cutTheWriterDuringACommit(_ log: PostgresEventLog) async throws {
        _ = try await log.append(stream: "events", records: [record("before")])
        #expect(try await log.acquireLease(processor: "slow", stream: "events"))
        let slowStep = StateCommit(processor: "slow", stream: "events", cursor: 1, statements: [StateStatement("SELECT pg_sleep(30)")])
        let commit = Task { try await log.commitState(slowStep) }
        // The writer's session is ended from another connection while it runs the slow step.
        let terminate = StateStatement(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
            WHERE datname = current_database() AND query = 'SELECT pg_sleep(30)' AND pid <> pg_backend_pid()
            """)
        let deadline = ContinuousClock.now + .seconds(20)
        while try await log.queryState(terminate).isEmpty {
            guard ContinuousClock.now < deadline else {
                Issue.record("the slow step never started")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard let ended = await outcome(within: .seconds(10), of: { try await commit.value }) else {
            Issue.record("the commit still waits 10 s after its connection was cut")
            return
        }
        #expect(ended != "it stopped without an error", "the cut commit reported success")
        let after = try await log.append(stream: "events", records: [record("after")])
        #expect(after.firstOffset == 1)
        #expect(try await log.read(stream: "events", from: 0, limit: 10).map(\.id) == ["before", "after"])
    }

    private func record(_ id: String) -> LogRecord {
        LogRecord(id: id, key: nil, eventTimeMs: nil, body: ByteBuffer(string: #"{"id":"\#(id)"}"#))
    }
}
