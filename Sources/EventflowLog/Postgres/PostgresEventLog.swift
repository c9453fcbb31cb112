import EventflowCore
import Foundation
public import Logging
import NIOCore
import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// The log in PostgreSQL, shared by any number of collector and processor processes.
///
/// Each process commits its own group batches through one writer connection; offsets are
/// allocated under the stream's head row lock, so they are dense and visible in commit
/// order across processes. Processors hold leases (``PostgresCoordination``); every cursor
/// and state commit checks the lease in its transaction, so a process that lost its lease
/// can never move a cursor another process owns now.
public final class PostgresEventLog: EventLog, ProcessorStateStore, DeadLetterStore, LogRetention, GroupCommitStorage, Service {
    public let streams: [String]
    private let configuration: PostgresLogConfiguration
    private let client: PostgresClient
    private let coordination: PostgresCoordination
    private let logger: Logger
    private let groupCommit: GroupCommitWriter
    private let reconnect = Mutex(ReconnectPacing())
    private let writer: Mutex<PostgresConnection?>
    /// The newest head of each stream this process has seen, and the readers waiting for one.
    private let heads: HeadSignal

    private init(configuration: PostgresLogConfiguration, writer: PostgresConnection, heads: [String: Int64], logger: Logger) {
        self.streams = configuration.streams
        self.configuration = configuration
        // The pool's own logger stays at error: it warns about every query that arrives in the
        // moment between the log's creation and `run()`, which are queued and served anyway.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration.url.clientConfiguration(maxConnections: configuration.maxConnections), backgroundLogger: poolLogger)
        self.client = client
        self.coordination = PostgresCoordination(client: client, streams: configuration.streams, leaseDuration: configuration.leaseDuration, logger: logger)
        self.logger = logger
        self.groupCommit = GroupCommitWriter(
            streams: configuration.streams, limits: configuration.groupCommit, maxCommitDelay: configuration.maxCommitDelay,
            onCommit: configuration.onCommit, logger: logger)
        self.writer = Mutex(writer)
        self.heads = HeadSignal(heads: heads)
    }

    /// Connects, migrates the schema (safe when several processes start at once) and creates
    /// the streams' tables. Call ``run()`` to start committing.
    public static func open(configuration: PostgresLogConfiguration, logger: Logger) async throws -> PostgresEventLog {
        let connection = try await connect(configuration.url, logger: logger)
        do {
            try await PostgresSchema.migrate(connection, streams: configuration.streams, logger: logger)
            let heads = try await PostgresSchema.heads(connection, logger: logger)
            logger.info("log opened", metadata: ["postgres": "\(configuration.url.redacted)", "streams": "\(configuration.streams.joined(separator: ","))"])
            return PostgresEventLog(configuration: configuration, writer: connection, heads: heads, logger: logger)
        } catch {
            try? await connection.close()
            throw EventLogError.storageFailed("cannot prepare the schema in \(configuration.url.redacted): \(PostgresEventLog.describe(error))")
        }
    }

    private static func connect(_ url: PostgresURL, logger: Logger) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 0, logger: logger)
        } catch {
            throw EventLogError.storageFailed(
                "cannot connect to PostgreSQL at \(url.redacted): \(describe(error)); is it running and is the URL right? (`make postgres` starts one)")
        }
    }

    /// PostgreSQL's own message when there is one (postgres-nio hides it from `description`).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        if case .storageFailed(let reason) = error as? EventLogError { return reason }
        if let error = error as? EventLogError { return error.description }
        return String(describing: error)
    }

    /// The log with its jobs, all on the shared database.
    public var storage: EventStorage {
        EventStorage(log: self, state: self, deadLetters: self, retention: self, coordination: coordination, service: self)
    }

    // MARK: - EventLog

    public func append(stream: String, records: [LogRecord]) async throws(EventLogError) -> AppendResult {
        try await groupCommit.append(stream: stream, records: records)
    }

    public func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int, bodies: Bool, partition: StreamPartition?) async throws
        -> [StoredEvent]
    {
        guard streams.contains(stream) else { throw EventLogError.unknownStream(stream) }
        // Every row a snapshot sees lies below the head of that snapshot (a row and its head
        // commit together), so a read needs no bound but its partition's reach: a
        // partition's next `limit` events lie below offset + limit × count (offsets are dense).
        let end = partition.map { offset + Int64(limit) * Int64($0.count) } ?? .max
        var read = RecordBatchRead(stream: stream, from: offset, end: end, limit: limit, maxBytes: maxBytes, bodies: bodies, partition: partition)
        // The rows' headers first, in growing pages (a reader at the head needs one or two
        // rows), until the read is complete; then the bodies of the rows it took events from.
        var next = offset
        var page: Int64 = 8
        while !read.isComplete {
            let rows = try await client.rowsIfOpen(
                PostgresQuery(
                    unsafeSQL: "SELECT last_offset, first_offset, accepted_at_ms, headers FROM \(PostgresSchema.table(stream)) WHERE last_offset >= $1 ORDER BY last_offset LIMIT $2",
                    binds: Self.bindings(next, page)),
                logger: logger)
            for row in rows {
                let (lastOffset, firstOffset, acceptedAt, headers) = try row.decode((Int64, Int64, Int64, ByteBuffer).self)
                try read.add(lastOffset: lastOffset, firstOffset: firstOffset, acceptedAtMs: acceptedAt, headers: headers)
                next = lastOffset + 1
            }
            guard rows.count == page else { break }
            page = min(page * 4, Int64(RecordBatch.maxEvents))
        }
        var events: [StoredEvent]
        if bodies, let first = read.picks.first?.lastOffset, let last = read.picks.last?.lastOffset {
            var rowBodies: [Int64: ByteBuffer] = [:]
            let rows = try await client.rowsIfOpen(
                PostgresQuery(
                    unsafeSQL: "SELECT last_offset, bodies FROM \(PostgresSchema.table(stream)) WHERE last_offset >= $1 AND last_offset <= $2",
                    binds: Self.bindings(first, last)),
                logger: logger)
            for row in rows {
                let (lastOffset, body) = try row.decode((Int64, ByteBuffer).self)
                rowBodies[lastOffset] = body
            }
            events = try read.result(bodies: rowBodies)
        } else {
            events = try read.result()
        }
        if let last = read.picks.last?.lastOffset { observeHead(stream, last + 1) }
        return events
    }

    public func cursor(processor: String, stream: String) async throws -> Int64 {
        guard streams.contains(stream) else { throw EventLogError.unknownStream(stream) }
        let rows = try await client.rowsIfOpen("SELECT next_offset FROM eventflow_cursors WHERE processor = \(processor) AND stream = \(stream)", logger: logger)
        return try rows.first?.decode(Int64.self) ?? 0
    }

    public func commitCursor(processor: String, stream: String, to offset: Int64) async throws {
        try await groupCommit.commitCursor(processor: processor, stream: stream, to: offset)
    }

    public func headOffset(stream: String) -> Int64 {
        heads.head(of: stream)
    }

    public func waitForEvent(in stream: String, at offset: Int64) async {
        await heads.wait(stream: stream, forOffset: offset)
    }

    public func backlog() async throws -> [BacklogEntry] {
        let rows = try await client.rowsIfOpen(
            "SELECT c.processor, c.stream, c.next_offset, h.head FROM eventflow_cursors c JOIN eventflow_heads h ON h.stream = c.stream ORDER BY c.stream, c.processor",
            logger: logger)
        var positions: [(processor: String, stream: String, cursor: Int64, head: Int64)] = []
        for row in rows {
            let (processor, stream, cursor, head) = try row.decode((String, String, Int64, Int64).self)
            guard streams.contains(stream) else { continue }
            positions.append((processor, stream, cursor, head))
            observeHead(stream, head)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var entries: [BacklogEntry] = []
        for position in positions {
            let (events, oldestOffset) = StreamPartition.backlog(processorName: position.processor, cursor: position.cursor, head: position.head)
            var age = 0.0
            if events > 0 {
                let oldest = try await client.rowsIfOpen(
                    PostgresQuery(
                        unsafeSQL: "SELECT accepted_at_ms FROM \(PostgresSchema.table(position.stream)) WHERE last_offset >= $1 ORDER BY last_offset LIMIT 1",
                        binds: Self.bindings(oldestOffset)),
                    logger: logger)
                if let acceptedAt = try oldest.first?.decode(Int64.self) { age = max(0, Double(now - acceptedAt) / 1000) }
            }
            entries.append(BacklogEntry(stream: position.stream, processor: position.processor, events: events, oldestUnprocessedAgeSeconds: age))
        }
        return entries
    }

    // MARK: - LogRetention

    public func oldestBatches(stream: String, limit: Int) async throws -> [RetainedBatch] {
        guard streams.contains(stream) else { throw EventLogError.unknownStream(stream) }
        let rows = try await client.rowsIfOpen(
            PostgresQuery(
                unsafeSQL: "SELECT first_offset, last_offset, accepted_at_ms FROM \(PostgresSchema.table(stream)) ORDER BY last_offset LIMIT $1",
                binds: Self.bindings(Int64(limit))),
            logger: logger)
        return try rows.map { row in
            let (first, last, acceptedAt) = try row.decode((Int64, Int64, Int64).self)
            return RetainedBatch(firstOffset: first, lastOffset: last, acceptedAtMs: acceptedAt)
        }
    }

    public func slowestCursor(stream: String) async throws -> Int64? {
        let rows = try await client.rowsIfOpen("SELECT min(next_offset) FROM eventflow_cursors WHERE stream = \(stream)", logger: logger)
        return try rows.first?.decode(Int64?.self)
    }

    public func deleteEvents(stream: String, below offset: Int64) async throws -> Int {
        try await groupCommit.deleteEvents(stream: stream, below: offset)
    }

    public func recordDeadLetters(_ letters: [DeadLetter]) async throws {
        try await groupCommit.recordDeadLetters(letters)
    }

    public func deadLetters(stream: String, from: Int64, limit: Int, maxBytes: Int) async throws -> [DeadLetter] {
        // A running sum of the bodies' sizes (octet_length reads a stored value's size without
        // detoasting it) leaves the letters past maxBytes in the database.
        try PostgresSchema.deadLetters(
            await client.rowsIfOpen(
                """
                SELECT \(unescaped: PostgresSchema.deadLetterColumns) FROM (SELECT *, octet_length(body) AS size, \
                sum(octet_length(body)) OVER (ORDER BY event_offset) AS upto FROM eventflow_dead_letters \
                WHERE stream = \(stream) AND event_offset >= \(from) ORDER BY event_offset LIMIT \(Int64(limit))) AS page \
                WHERE upto = size OR upto <= \(Int64(maxBytes)) ORDER BY event_offset
                """,
                logger: logger))
    }

    public func replayDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await groupCommit.replayDeadLetters(selection)
    }

    public var health: LogHealth { groupCommit.health }

    public func prepareState(_ schema: [String]) async throws {
        try await client.withConnection { connection in
            try await PostgresSchema.inSchemaTransaction(connection, logger: logger) {
                for statement in schema {
                    try await connection.queryIfOpen(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
        }
    }

    public func commitState(_ commit: StateCommit) async throws {
        try await groupCommit.commitState(commit)
    }

    public func queryState(_ statement: StateStatement) async throws -> [StateRow] {
        let rows = try await client.rowsIfOpen(
            PostgresQuery(unsafeSQL: statement.numberedPlaceholders, binds: PostgresSchema.bindings(statement.binds)), logger: logger)
        var result: [StateRow] = []
        for row in rows {
            result.append(StateRow(values: try row.map(PostgresSchema.stateValue)))
        }
        return result
    }

    // MARK: - Service

    /// Commits until graceful shutdown, then commits what is still queued and closes the connections.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.client.run() }
                    group.addTask { await self.refreshUntilClosed() }
                    group.addTask { await self.coordination.renewLeasesUntilCancelled() }
                    await groupCommit.writeUntilClosed(to: self)
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                self.groupCommit.beginClosing()
            }
        } onCancel: {
            self.groupCommit.beginClosing()
        }
        try? await writer.withLock { $0 }?.close()
        logger.info("log closed")
    }

    /// Learns the heads other collectors commit (``PostgresHeadsWatch``, plus a read every
    /// second as a backstop for a listening connection that stopped delivering without
    /// closing), until closing.
    private func refreshUntilClosed() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await PostgresHeadsWatch(url: self.configuration.url, logger: self.logger) { self.observeHead($0, $1) }.run()
            }
            while !groupCommit.isClosing, !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                do {
                    let heads = try await client.withConnection { try await PostgresSchema.heads($0, logger: self.logger) }
                    for (stream, head) in heads { observeHead(stream, head) }
                } catch {
                    // Closing cancels the connection pool and this read together; a read failing then is expected.
                    guard !Task.isCancelled, !groupCommit.isClosing else { break }
                    logger.warning("reading the heads of other collectors failed", metadata: ["error": "\(Self.describe(error))"])
                }
            }
            group.cancelAll()
        }
    }

    private func observeHead(_ stream: String, _ head: Int64) {
        heads.publish(stream: stream, head: head)
    }

    /// The writer's connection, connected again when it has closed, but not more often than
    /// ``ReconnectPacing`` allows: in between, commits fail with the last connection error.
    private func writerConnection() async throws -> PostgresConnection {
        if let connection = writer.withLock({ $0 }), !connection.isClosed { return connection }
        if let waiting = reconnect.withLock({ $0.mayConnect(at: .now) ? nil : $0.lastError }) {
            throw EventLogError.storageFailed(waiting)
        }
        do {
            let connection = try await Self.connect(configuration.url, logger: logger)
            reconnect.withLock { $0.connected() }
            writer.withLock { $0 = connection }
            return connection
        } catch {
            reconnect.withLock { $0.failed(Self.describe(error), at: .now, random: .random(in: 0..<1)) }
            throw error
        }
    }

    // MARK: - GroupCommitStorage

    /// An empty transaction that takes the heads' row locks, as appends do: proves the
    /// connection and that an append could commit again (not held up by a lock).
    func probe() async throws(EventLogError) {
        _ = try await commit(BatchPlan([], acceptedAtMs: 0), lockingHeads: true)
    }

    func commit(_ plan: BatchPlan) async throws(EventLogError) -> CommittedBatch {
        try await commit(plan, lockingHeads: false)
    }

    private func commit(_ plan: BatchPlan, lockingHeads: Bool) async throws(EventLogError) -> CommittedBatch {
        let started = ContinuousClock.now
        var records = plan.records
        var committed = CommittedBatch()
        do {
            let connection = try await writerConnection()
            let deadline = configuration.commitDeadline
            let watchdog = connection.eventLoop.scheduleTask(in: .nanoseconds(deadline.nanoseconds)) { [logger] in
                logger.error("a group commit took longer than \(deadline); closing the writer's connection (the server stopped answering?)")
                _ = connection.close() as EventLoopFuture<Void>
            }
            defer { watchdog.cancel() }
            try await connection.queryIfOpen("BEGIN", logger: logger)
            do {
                if lockingHeads {
                    try await connection.queryIfOpen(#"SELECT stream FROM eventflow_heads ORDER BY stream COLLATE "C" FOR UPDATE"#, logger: logger)
                }
                for write in plan.writes {
                    switch write {
                    case .replay(let index, let selection):
                        let requeued = try await PostgresSchema.takeDeadLetters(connection, selection, logger: logger)
                        records[selection.stream, default: []] += requeued.map(\.record)
                        committed.replayed[index] = requeued.count
                    case .deadLetters(_, let letters):
                        for letter in letters { try await PostgresSchema.insertDeadLetter(connection, letter, logger: logger) }
                    case .cursor(let index, let key, let offset):
                        if try await !moveCursor(connection, key: key, to: offset) {
                            committed.failures[index] = .leaseLost(processor: key.processor, stream: key.stream)
                        }
                    case .state(let index, let change):
                        if let failure = try await applyIsolated(change, connection) { committed.failures[index] = failure }
                    case .deleteEvents(let index, let stream, let below):
                        committed.deleted[index] = try await PostgresSchema.deleteEvents(connection, stream: stream, below: below, logger: logger)
                    }
                }
                // Head rows are locked last and in name order: collectors never deadlock on
                // them, and other collectors wait for this transaction as briefly as possible.
                for stream in records.keys.sorted() {
                    guard let streamRecords = records[stream], !streamRecords.isEmpty else { continue }
                    let first = try await PostgresSchema.allocateOffsets(connection, stream: stream, count: streamRecords.count, logger: logger)
                    try await PostgresSchema.insert(
                        connection, stream: stream, first: first, records: streamRecords, acceptedAtMs: plan.acceptedAtMs, logger: logger)
                    committed.firstOffsets[stream] = first
                }
                try await connection.queryIfOpen("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.queryIfOpen("ROLLBACK", logger: logger)
                throw error
            }
        } catch {
            throw .storageFailed(Self.describe(error))
        }
        for (stream, first) in committed.firstOffsets { observeHead(stream, first + Int64(records[stream]?.count ?? 0)) }
        coordination.extendLeases(plan.cursorRowsTouched(committed), since: started)
        return committed
    }

    /// Moves a cursor, and extends its lease, if this process holds it; false when another process does.
    private func moveCursor(_ connection: PostgresConnection, key: CursorKey, to offset: Int64?) async throws -> Bool {
        let rows = try await connection.queryIfOpen(
            """
            UPDATE eventflow_cursors SET next_offset = COALESCE(\(offset), next_offset), \
            lease_expires_ms = \(unescaped: PostgresSchema.nowMs) + \(configuration.leaseDuration.milliseconds) \
            WHERE processor = \(key.processor) AND stream = \(key.stream) AND owner = \(coordination.owner) RETURNING 1
            """,
            logger: logger)
        var moved = false
        for try await _ in rows { moved = true }
        return moved
    }

    /// Applies one processor's step under a savepoint: a failing statement or a lost lease
    /// undoes only that step, not the appends committed with it. Returns the failure, or nil.
    private func applyIsolated(_ change: StateCommit, _ connection: PostgresConnection) async throws -> EventLogError? {
        try await connection.queryIfOpen("SAVEPOINT processor_step", logger: logger)
        do {
            guard try await moveCursor(connection, key: CursorKey(processor: change.processor, stream: change.stream), to: change.cursor) else {
                try await connection.queryIfOpen("RELEASE processor_step", logger: logger)
                return .leaseLost(processor: change.processor, stream: change.stream)
            }
            for statement in change.statements {
                try await connection.queryIfOpen(
                    PostgresQuery(unsafeSQL: statement.numberedPlaceholders, binds: PostgresSchema.bindings(statement.binds)), logger: logger)
            }
            try await connection.queryIfOpen("RELEASE processor_step", logger: logger)
            return nil
        } catch {
            try await connection.queryIfOpen("ROLLBACK TO processor_step", logger: logger)
            try await connection.queryIfOpen("RELEASE processor_step", logger: logger)
            return .storageFailed(Self.describe(error))
        }
    }

    private static func bindings(_ values: Int64...) -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values { binds.append(value) }
        return binds
    }
}
