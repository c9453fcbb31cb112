import EventflowCore
import Synchronization

/// For every event of a run: what the client knows of it (sent, refused, unknown,
/// acknowledged), the offset of its acknowledgement and when it came, how many of its
/// copies (client retries) were acknowledged or left without answer, and its event time.
///
/// Kept as parallel arrays indexed by event number (about 20 bytes per event), so ten
/// million events fit in well under 1 GiB.
public final class ClientLedger: Sendable {
    private struct Storage: Sendable {
        var outcomes: [ClientOutcome] = []
        var streams: [UInt8] = []
        var offsets: [Int64] = []
        var ackMillis: [UInt32] = []
        var acknowledgedCopies: [UInt8] = []
        var unknownCopies: [UInt8] = []
        var eventMillis: [UInt32] = []
    }

    private let storage = Mutex(Storage())
    public let streamNames: [String]

    public init(streams: [String]) {
        streamNames = streams
    }

    /// Records the outcome of one request for its events; the best outcome of any attempt wins.
    public func record(_ request: PlannedRequest, outcome: ClientOutcome, firstOffset: Int64?, atMillis: UInt32) {
        let stream = UInt8(streamNames.firstIndex(of: request.stream) ?? 0)
        storage.withLock { storage in
            let end = request.firstEvent + request.count
            if storage.outcomes.count < end {
                let missing = end - storage.outcomes.count
                storage.outcomes.append(contentsOf: repeatElement(.notSent, count: missing))
                storage.streams.append(contentsOf: repeatElement(0, count: missing))
                storage.offsets.append(contentsOf: repeatElement(-1, count: missing))
                storage.ackMillis.append(contentsOf: repeatElement(0, count: missing))
                storage.acknowledgedCopies.append(contentsOf: repeatElement(0, count: missing))
                storage.unknownCopies.append(contentsOf: repeatElement(0, count: missing))
                storage.eventMillis.append(contentsOf: repeatElement(0, count: missing))
            }
            let eventMillis = UInt32(max(0, (request.eventTime * 1000).rounded()))
            for (position, index) in (request.firstEvent..<end).enumerated() {
                storage.streams[index] = stream
                storage.eventMillis[index] = eventMillis
                switch outcome {
                case .acknowledged where storage.acknowledgedCopies[index] < .max: storage.acknowledgedCopies[index] += 1
                case .unknown where storage.unknownCopies[index] < .max: storage.unknownCopies[index] += 1
                default: break
                }
                guard outcome > storage.outcomes[index] || (outcome == .acknowledged && storage.offsets[index] < 0) else { continue }
                storage.outcomes[index] = outcome
                if outcome == .acknowledged, let firstOffset {
                    storage.offsets[index] = firstOffset + Int64(position)
                    storage.ackMillis[index] = atMillis
                }
            }
        }
    }

    /// The events of `stream`: their indices, outcomes and acknowledged offsets.
    public func events(of stream: String) -> (indices: [Int], outcomes: [ClientOutcome], offsets: [Int64]) {
        guard let position = streamNames.firstIndex(of: stream) else { return ([], [], []) }
        let code = UInt8(position)
        return storage.withLock { storage in
            var indices: [Int] = []
            var outcomes: [ClientOutcome] = []
            var offsets: [Int64] = []
            for index in storage.outcomes.indices where storage.streams[index] == code && storage.outcomes[index] != .notSent {
                indices.append(index)
                outcomes.append(storage.outcomes[index])
                offsets.append(storage.offsets[index])
            }
            return (indices, outcomes, offsets)
        }
    }

    /// One sent event as the processors' oracles need it.
    public struct SentEvent: Sendable {
        public var index: Int
        /// Copies the system acknowledged: each is in the log.
        public var acknowledged: Int
        /// Copies without an answer: each may or may not be in the log.
        public var unknown: Int
        /// Its event time, seconds after the start of the load.
        public var eventTime: Double
    }

    /// Every event of `stream` that was sent at least once.
    public func sentEvents(of stream: String) -> [SentEvent] {
        guard let position = streamNames.firstIndex(of: stream) else { return [] }
        let code = UInt8(position)
        return storage.withLock { storage in
            storage.outcomes.indices.compactMap { index in
                guard storage.streams[index] == code, storage.outcomes[index] != .notSent else { return nil }
                return SentEvent(
                    index: index, acknowledged: Int(storage.acknowledgedCopies[index]), unknown: Int(storage.unknownCopies[index]),
                    eventTime: Double(storage.eventMillis[index]) / 1000)
            }
        }
    }

    /// Bytes held, for the memory figure.
    public var footprintBytes: Int {
        storage.withLock {
            $0.outcomes.capacity + $0.streams.capacity + $0.offsets.capacity * 8 + $0.ackMillis.capacity * 4 + $0.acknowledgedCopies.capacity
                + $0.unknownCopies.capacity + $0.eventMillis.capacity * 4
        }
    }
}
