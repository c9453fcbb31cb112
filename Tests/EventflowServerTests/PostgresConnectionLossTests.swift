import EventflowLog
import EventflowServer
import EventflowTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
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
        #expect(try await log.storage.coordination.acquireLease(processor: "slow", stream: "events"))
        let slowStep = StateCommit(processor: "slow", stream: "events", cursor: 1, statements: [StateStatement("SELECT pg_sleep(20)")])
        let commit = Task { try await log.commitState(slowStep) }
        // The writer's session is ended from another connection while it runs the slow step.
        let terminate = StateStatement(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
            WHERE datname = current_database() AND query = 'SELECT pg_sleep(20)' AND pid <> pg_backend_pid()
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

    /// A commit that outlasts its deadline closes the writer's connection and fails, whatever
    /// the server does (a frozen backend or a host gone without closing the connection would
    /// never answer, and no server-side timeout could fire); the next write connects again.
    /// Here the step sleeps 20 s on the server against a 5 s deadline (which the other commits
    /// of the test meet even on a busy machine): without the deadline the commit succeeds after 20 s.
    @Test func aCommitPastItsDeadlineFailsAndTheNextWriteReconnects() async throws {
        guard case .postgres(let url) = try await TestStorage.postgres.make() else { return }
        var configuration = PostgresLogConfiguration(url: url, streams: ["events"])
        configuration.commitDeadline = .seconds(5)
        let log = try await PostgresEventLog.open(configuration: configuration, logger: quietLogger)
        let group = ServiceGroup(services: [log], gracefulShutdownSignals: [], logger: quietLogger)
        let running = Task { try await group.run() }
        do {
            _ = try await log.append(stream: "events", records: [record("before")])
            #expect(try await log.storage.coordination.acquireLease(processor: "slow", stream: "events"))
            let slowStep = StateCommit(processor: "slow", stream: "events", cursor: 1, statements: [StateStatement("SELECT pg_sleep(20)")])
            let ended = await outcome(within: .seconds(15), of: { try await log.commitState(slowStep) })
            #expect(ended != nil, "the commit still waited after 15 s")
            #expect(ended != "it stopped without an error", "a commit past its deadline reported success")
            let after = try await log.append(stream: "events", records: [record("after")])
            #expect(after.firstOffset == 1)
        } catch {
            Issue.record(error)
        }
        await group.triggerGracefulShutdown()
        #expect(await outcome { try await running.value } == "it stopped without an error", "the log did not close")
    }

    private func record(_ id: String) -> LogRecord {
        LogRecord(id: id, key: nil, eventTimeMs: nil, body: ByteBuffer(string: #"{"id":"\#(id)"}"#))
    }

    /// An administrator's session holding a lock on the heads: ingest answers 503 within the
    /// lock timeout and /readyz says why for as long as the lock is held, rather than
    /// collectors waiting for ever; once the lock goes, ingest succeeds again.
    @Test func aForeignLockOnTheHeadsGives503sNotHungCollectors() async throws {
        let storage = try await TestStorage.postgres.make()
        guard case .postgres(let url) = storage else { return }
        try await withServer(log: storage) { client, _ in
            #expect(try await client.ingest("events", #"{"id":"before","name":"n","timestamp":1}"#).status == .accepted)
            let admin = try await PostgresConnection.connect(
                configuration: .init(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable),
                id: 1, logger: quietLogger)
            try await admin.query("BEGIN", logger: quietLogger)
            try await admin.query("LOCK TABLE eventflow_heads IN ACCESS EXCLUSIVE MODE", logger: quietLogger)
            let blocked = Task { try await client.ingest("events", #"{"id":"during","name":"n","timestamp":1}"#).status }
            if await outcome(within: .seconds(15), of: { _ = try await blocked.value }) == nil {
                Issue.record("ingest still waited 15 s into a foreign lock")
            } else {
                #expect(try await blocked.value == .serviceUnavailable)
                // The writer's probe, which takes the heads' locks as an append does, fails too:
                // the server stays unready while the lock is held.
                try await client.pollMetric("eventflow_log_commit_failures_total") { ($0 ?? 0) >= 2 }
                let ready = try await client.execute(uri: "/readyz", method: .get)
                #expect(ready.status == .serviceUnavailable)
            }
            try await admin.query("ROLLBACK", logger: quietLogger)
            try await admin.close()
            var status = HTTPResponse.Status.serviceUnavailable
            let deadline = ContinuousClock.now + .seconds(20)
            while status != .accepted, ContinuousClock.now < deadline {
                status = try await client.ingest("events", #"{"id":"after","name":"n","timestamp":1}"#).status
                if status != .accepted { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(status == .accepted)
        }
    }
}
