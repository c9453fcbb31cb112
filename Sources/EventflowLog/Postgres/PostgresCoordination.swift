import Foundation
import Logging
import PostgresNIO
import Synchronization

/// How processes sharing the PostgreSQL log divide its work, through its tables: a lease is
/// a row of `eventflow_cursors` with an owner and an expiry in the database's clock, renewed
/// every quarter of its duration while the process lives; groups count their members in
/// `eventflow_members`, ordering holds live in `eventflow_holds` (counted only while their
/// member's lease is live), and each group's partition layout in `eventflow_layouts`.
///
/// The log's commits check the lease in their transaction (``owner``), so a process that
/// lost its lease can never move a cursor another process owns now.
final class PostgresCoordination: ProcessCoordination {
    /// This process's name in lease rows: host, pid and a random suffix.
    let owner: String
    private let client: PostgresClient
    private let streams: [String]
    private let leaseDuration: Duration
    private let logger: Logger
    /// Leases this process holds, each valid locally until the given instant.
    private let leases = Mutex<[CursorKey: ContinuousClock.Instant]>([:])

    init(client: PostgresClient, streams: [String], leaseDuration: Duration, logger: Logger) {
        self.owner = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8))"
        self.client = client
        self.streams = streams
        self.leaseDuration = leaseDuration
        self.logger = logger
    }

    public func acquireLease(processor: String, stream: String) async throws -> Bool {
        guard streams.contains(stream) else { throw EventLogError.unknownStream(stream) }
        let key = CursorKey(processor: processor, stream: stream)
        let started = ContinuousClock.now
        let duration = leaseDuration.milliseconds
        try await client.rowsIfOpen(
            "INSERT INTO eventflow_cursors (processor, stream, next_offset, owner, lease_expires_ms) VALUES (\(processor), \(stream), 0, NULL, 0) ON CONFLICT DO NOTHING",
            logger: logger)
        // SKIP LOCKED: a row locked by its holder's commit in progress is not free; asking again later is cheaper than waiting.
        let rows = try await client.rowsIfOpen(
            """
            WITH claimable AS (SELECT processor, stream FROM eventflow_cursors WHERE processor = \(processor) AND stream = \(stream) \
            AND (owner IS NULL OR owner = \(owner) OR lease_expires_ms < \(unescaped: PostgresSchema.nowMs)) FOR UPDATE SKIP LOCKED) \
            UPDATE eventflow_cursors c SET owner = \(owner), lease_expires_ms = \(unescaped: PostgresSchema.nowMs) + \(duration) \
            FROM claimable WHERE c.processor = claimable.processor AND c.stream = claimable.stream RETURNING c.next_offset
            """,
            logger: logger)
        var acquired = false
        for _ in rows { acquired = true }
        leases.withLock { leases in
            if acquired {
                leases[key] = started + leaseDuration * 0.9
            } else {
                leases[key] = nil
            }
        }
        if acquired { logger.info("lease acquired", metadata: ["processor": "\(processor)", "stream": "\(stream)", "owner": "\(owner)"]) }
        return acquired
    }

    public func holdsLease(processor: String, stream: String) -> Bool {
        leases.withLock { $0[CursorKey(processor: processor, stream: stream)].map { ContinuousClock.now < $0 } ?? false }
    }

    public func releaseLease(processor: String, stream: String) async {
        leases.withLock { $0[CursorKey(processor: processor, stream: stream)] = nil }
        do {
            try await client.rowsIfOpen(
                "UPDATE eventflow_cursors SET owner = NULL, lease_expires_ms = 0 WHERE processor = \(processor) AND stream = \(stream) AND owner = \(owner)",
                logger: logger)
        } catch {
            logger.warning("could not release a lease; it expires by itself", metadata: ["processor": "\(processor)", "error": "\(PostgresEventLog.describe(error))"])
        }
    }

    public func joinGroup(_ group: String) async throws -> Int {
        let duration = leaseDuration.milliseconds
        try await client.rowsIfOpen(
            """
            INSERT INTO eventflow_members (group_name, owner, expires_ms) VALUES (\(group), \(owner), \(unescaped: PostgresSchema.nowMs) + \(duration)) \
            ON CONFLICT (group_name, owner) DO UPDATE SET expires_ms = EXCLUDED.expires_ms
            """,
            logger: logger)
        // Rows of processes gone for a minute go; younger expired ones are simply not counted.
        try await client.rowsIfOpen(
            "DELETE FROM eventflow_members WHERE group_name = \(group) AND expires_ms < \(unescaped: PostgresSchema.nowMs) - 60000", logger: logger)
        let rows = try await client.rowsIfOpen(
            "SELECT count(*) FROM eventflow_members WHERE group_name = \(group) AND expires_ms >= \(unescaped: PostgresSchema.nowMs)", logger: logger)
        return max(1, Int(try rows.first?.decode(Int64.self) ?? 1))
    }

    public func leaveGroup(_ group: String) async {
        do {
            try await client.rowsIfOpen("DELETE FROM eventflow_members WHERE group_name = \(group) AND owner = \(owner)", logger: logger)
        } catch {
            logger.warning("could not leave a processor group; the registration lapses by itself", metadata: ["group": "\(group)", "error": "\(PostgresEventLog.describe(error))"])
        }
    }

    public func setHold(group: String, member: String, holding: Bool) async throws {
        if holding {
            try await client.rowsIfOpen(
                "INSERT INTO eventflow_holds (group_name, member) VALUES (\(group), \(member)) ON CONFLICT DO NOTHING", logger: logger)
        } else {
            try await client.rowsIfOpen("DELETE FROM eventflow_holds WHERE group_name = \(group) AND member = \(member)", logger: logger)
        }
    }

    public func holdingMembers(group: String) async throws -> Set<String> {
        let rows = try await client.rowsIfOpen(
            """
            SELECT h.member FROM eventflow_holds h JOIN eventflow_cursors c ON c.processor = h.member \
            WHERE h.group_name = \(group) AND c.owner IS NOT NULL AND c.lease_expires_ms >= \(unescaped: PostgresSchema.nowMs)
            """,
            logger: logger)
        var members: Set<String> = []
        for row in rows { members.insert(try row.decode(String.self)) }
        return members
    }

    public func settleLayout(group: String, partitions: Int) async throws -> Int {
        // The no-op update makes the statement return the row that is there, recorded now or before.
        let rows = try await client.rowsIfOpen(
            """
            INSERT INTO eventflow_layouts (group_name, partitions) VALUES (\(group), \(Int64(partitions))) \
            ON CONFLICT (group_name) DO UPDATE SET group_name = EXCLUDED.group_name RETURNING partitions
            """,
            logger: logger)
        guard let recorded = try rows.first?.decode(Int64.self) else {
            throw EventLogError.storageFailed("recording the layout of \(group) returned no row")
        }
        return Int(recorded)
    }

    /// Renews the leases held every quarter of their duration, counted from the start of the
    /// previous renewal, so a renewal that took long is followed at once by the next.
    func renewLeasesUntilCancelled() async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let started = clock.now
            do {
                try await renewLeases()
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("renewing the leases failed", metadata: ["error": "\(PostgresEventLog.describe(error))"])
            }
            try? await Task.sleep(until: started + leaseDuration / 4, clock: clock)
        }
    }

    /// Extends every lease this process holds. A cursor row that one of its own commits has
    /// locked is skipped rather than waited for (that commit extends it), so a renewal never
    /// queues behind a slow commit; a row this process no longer owns is a lease lost.
    private func renewLeases() async throws {
        guard !leases.withLock({ $0.isEmpty }) else { return }
        let started = ContinuousClock.now
        let renewedRows = try await client.rowsIfOpen(
            """
            UPDATE eventflow_cursors c SET lease_expires_ms = \(unescaped: PostgresSchema.nowMs) + \(leaseDuration.milliseconds) \
            FROM (SELECT processor, stream FROM eventflow_cursors WHERE owner = \(owner) FOR UPDATE SKIP LOCKED) held \
            WHERE c.processor = held.processor AND c.stream = held.stream AND c.owner = \(owner) RETURNING c.processor, c.stream
            """,
            logger: logger)
        let ownedRows = try await client.rowsIfOpen("SELECT processor, stream FROM eventflow_cursors WHERE owner = \(owner)", logger: logger)
        func keys(_ rows: [PostgresRow]) throws -> Set<CursorKey> {
            Set(try rows.map { row in
                let (processor, stream) = try row.decode((String, String).self)
                return CursorKey(processor: processor, stream: stream)
            })
        }
        let renewed = try keys(renewedRows)
        let owned = try keys(ownedRows).union(renewed)
        let lost = leases.withLock { leases in
            let lost = leases.keys.filter { !owned.contains($0) }
            for key in lost { leases[key] = nil }
            for key in renewed where leases[key] != nil { leases[key] = started + leaseDuration * 0.9 }
            return lost
        }
        for key in lost {
            logger.warning("lease lost to another process", metadata: ["processor": "\(key.processor)", "stream": "\(key.stream)"])
        }
    }

    /// Extends the local view of the leases whose cursors a commit moved: the commit
    /// extended them in the table, from no earlier than `started`.
    func extendLeases(_ moved: [CursorKey], since started: ContinuousClock.Instant) {
        guard !moved.isEmpty else { return }
        leases.withLock { leases in
            for key in moved where leases[key] != nil { leases[key] = started + leaseDuration * 0.9 }
        }
    }
}
