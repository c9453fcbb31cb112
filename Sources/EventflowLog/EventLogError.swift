/// Why the log refused or failed a request. Every case means nothing was stored.
public enum EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Too much is waiting for a commit; try again after the given time.
    case overloaded(retryAfterSeconds: Int)
    /// The storage failed (disk full, read-only, I/O error).
    case storageFailed(String)
    /// The log is closing and takes no more writes.
    case shuttingDown
    case unknownStream(String)
    /// Another process took over this processor's lease; its work since then is its own.
    case leaseLost(processor: String, stream: String)
    /// A read asked for events that retention deleted; the stream starts at `firstRetained` now.
    case deleted(stream: String, firstRetained: Int64)

    public var description: String {
        switch self {
        case .overloaded(let seconds): "the log is saturated; retry after \(seconds) s"
        case .storageFailed(let reason): "storage failed: \(reason)"
        case .shuttingDown: "the log is shutting down"
        case .unknownStream(let name): "unknown stream '\(name)'"
        case .leaseLost(let processor, let stream): "processor \(processor) lost its lease on stream \(stream) to another process"
        case .deleted(let stream, let firstRetained): "the events of stream \(stream) before offset \(firstRetained) were deleted by retention"
        }
    }
}
