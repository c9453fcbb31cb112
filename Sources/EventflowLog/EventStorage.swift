public import ServiceLifecycle

/// One opened storage, each of its jobs behind its own protocol, so that every part of the
/// server takes only the job it uses: the collector appends, the read API reads, processors
/// read, keep their state and coordinate, the dead-letter API replays, retention deletes.
public struct EventStorage: Sendable {
    /// The log of streams.
    public var log: any EventLog
    /// Processors' cursors and state.
    public var state: any ProcessorStateStore
    /// The events processors gave up on.
    public var deadLetters: any DeadLetterStore
    /// Deleting what retention lets go.
    public var retention: any LogRetention
    /// How processes sharing the log divide its work.
    public var coordination: any ProcessCoordination
    /// Runs the storage (its writer, checkpoints, lease renewals) in the server's service group.
    public var service: any Service

    public init(
        log: any EventLog, state: any ProcessorStateStore, deadLetters: any DeadLetterStore, retention: any LogRetention,
        coordination: any ProcessCoordination, service: any Service
    ) {
        self.log = log
        self.state = state
        self.deadLetters = deadLetters
        self.retention = retention
        self.coordination = coordination
        self.service = service
    }
}
