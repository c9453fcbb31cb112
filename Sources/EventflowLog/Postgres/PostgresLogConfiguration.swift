public import EventflowCore

/// Settings of the PostgreSQL log.
public struct PostgresLogConfiguration: Sendable {
    public var url: PostgresURL
    /// Streams to hold (tables are created at start).
    public var streams: [String]
    /// Admission and batching limits of group commit.
    public var groupCommit: GroupCommitLimits
    /// How long the writer waits for more requests before committing a batch below its size limit.
    public var maxCommitDelay: Duration
    /// How long a processor's lease lasts without renewal: after a process dies, another
    /// takes its work over at most this long after its last renewal.
    public var leaseDuration: Duration
    /// Connections for reads, state queries and leases (the writer has its own).
    public var maxConnections: Int
    /// How long a group commit may take before the writer's connection is closed under it
    /// and the commit fails (503, nothing acknowledged): longer than the sessions'
    /// `statement_timeout` (30 s), so it acts only when the server stopped answering (a host
    /// gone without closing the connection, a frozen backend), where no server-side
    /// timeout can; the next commit connects again.
    public var commitDeadline: Duration = .seconds(45)
    /// Called after every group commit, successful or not.
    public var onCommit: @Sendable (CommitStats) -> Void

    public init(
        url: PostgresURL, streams: [String], groupCommit: GroupCommitLimits = GroupCommitLimits(), maxCommitDelay: Duration = .zero,
        leaseDuration: Duration = .seconds(5), maxConnections: Int = 8, onCommit: @escaping @Sendable (CommitStats) -> Void = { _ in }
    ) {
        self.url = url
        self.streams = streams
        self.groupCommit = groupCommit
        self.maxCommitDelay = maxCommitDelay
        self.leaseDuration = leaseDuration
        self.maxConnections = maxConnections
        self.onCommit = onCommit
    }
}
