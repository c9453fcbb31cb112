public import EventflowCore

/// Settings of the embedded log.
public struct LogConfiguration: Sendable {
    /// Directory holding the database files; created when missing.
    public var dataDirectory: String
    /// Streams to hold (tables are created at start).
    public var streams: [String]
    /// Admission and batching limits of group commit.
    public var groupCommit: GroupCommitLimits
    /// How long the writer waits for more requests before committing a batch that is
    /// below its size limit; 0 commits as soon as the previous commit ended.
    public var maxCommitDelay: Duration
    /// Cap on the database size; a commit that would exceed it fails as a full disk does.
    public var maxDatabaseBytes: Int?
    /// Called after every group commit, successful or not.
    public var onCommit: @Sendable (CommitStats) -> Void

    public init(
        dataDirectory: String,
        streams: [String],
        groupCommit: GroupCommitLimits = GroupCommitLimits(),
        maxCommitDelay: Duration = .zero,
        maxDatabaseBytes: Int? = nil,
        onCommit: @escaping @Sendable (CommitStats) -> Void = { _ in }
    ) {
        self.dataDirectory = dataDirectory
        self.streams = streams
        self.groupCommit = groupCommit
        self.maxCommitDelay = maxCommitDelay
        self.maxDatabaseBytes = maxDatabaseBytes
        self.onCommit = onCommit
    }
}
