/// Bounds on what the collector holds in memory and on what one transaction commits.
public struct GroupCommitLimits: Sendable, Equatable {
    /// Events waiting for a commit above which new requests are refused (503).
    public var maxPendingEvents: Int
    /// Bytes waiting for a commit above which new requests are refused (503).
    public var maxPendingBytes: Int
    /// Most events one transaction commits (a request is never split).
    public var maxBatchEvents: Int
    /// Most bytes one transaction commits (a request is never split).
    public var maxBatchBytes: Int

    public init(maxPendingEvents: Int = 200_000, maxPendingBytes: Int = 64 << 20, maxBatchEvents: Int = 20_000, maxBatchBytes: Int = 16 << 20) {
        self.maxPendingEvents = maxPendingEvents
        self.maxPendingBytes = maxPendingBytes
        self.maxBatchEvents = maxBatchEvents
        self.maxBatchBytes = maxBatchBytes
    }
}

/// The group-commit policy: admits requests while memory allows and hands the writer
/// batches of whole requests, oldest first.
///
/// Pure state; the log's writer owns one behind a lock and does the I/O.
public struct GroupCommitQueue<Request> {
    public let limits: GroupCommitLimits
    private var pending: [(request: Request, events: Int, bytes: Int)] = []
    private var head = 0
    public private(set) var pendingEvents = 0
    public private(set) var pendingBytes = 0

    public init(limits: GroupCommitLimits) {
        self.limits = limits
    }

    public var isEmpty: Bool { head == pending.count }

    /// How full the queue is, from 0 (empty) to 1 (refusing requests).
    public var saturation: Double {
        max(Double(pendingEvents) / Double(limits.maxPendingEvents), Double(pendingBytes) / Double(limits.maxPendingBytes))
    }

    /// Queues `request` unless that would exceed the pending limits; an empty queue
    /// always admits, so a single large request can never be refused forever.
    /// Small control writes (cursor commits) bypass the limits: refusing them would keep
    /// the backlog from ever shrinking.
    public mutating func admit(_ request: Request, events: Int, bytes: Int, bypassingLimits: Bool = false) -> Bool {
        if !bypassingLimits, !isEmpty, pendingEvents + events > limits.maxPendingEvents || pendingBytes + bytes > limits.maxPendingBytes {
            return false
        }
        pending.append((request, events, bytes))
        pendingEvents += events
        pendingBytes += bytes
        return true
    }

    /// Removes and returns the oldest requests that fit one transaction: at least one
    /// when any is pending, then more while the batch limits allow.
    public mutating func takeBatch() -> [Request] {
        var batch: [Request] = []
        var events = 0
        var bytes = 0
        while head < pending.count {
            let next = pending[head]
            if !batch.isEmpty, events + next.events > limits.maxBatchEvents || bytes + next.bytes > limits.maxBatchBytes { break }
            batch.append(next.request)
            events += next.events
            bytes += next.bytes
            head += 1
        }
        pendingEvents -= events
        pendingBytes -= bytes
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
        return batch
    }
}

extension GroupCommitQueue: Sendable where Request: Sendable {}
