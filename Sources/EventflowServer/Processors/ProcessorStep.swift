import EventflowLog

/// The logic of one stream processor, driven by ``ProcessorRunner``.
///
/// The runner reads events in offset order and hands them to ``apply(_:state:)``; at each
/// flush it commits the statements of ``flush(cursor:)`` together with the new cursor in
/// one transaction, then calls ``didCommit()``. After any failure it discards the step
/// and starts a fresh one with ``recover(from:)``, so in-memory state always derives
/// from committed state and replay never counts twice.
protocol ProcessorStep: SendableMetatype {
    /// The processor's name, as in its cursor and metrics.
    var name: String { get }
    var stream: String { get }
    /// Whether ``apply(_:state:)`` needs event bodies, or only keys and event times.
    var readsBodies: Bool { get }
    /// The processor's tables, created at start.
    var schema: [String] { get }
    /// Loads what the step keeps in memory from the committed state.
    mutating func recover(from state: any ProcessorStateStore) async throws
    /// Takes the next events, in offset order.
    mutating func apply(_ events: [StoredEvent], state: any ProcessorStateStore) async throws
    /// The state changes since the last flush, to commit with the cursor `cursor`.
    mutating func flush(cursor: Int64) -> [StateStatement]
    /// Called once the last flush is durable (to publish results and count metrics).
    mutating func didCommit()
}
