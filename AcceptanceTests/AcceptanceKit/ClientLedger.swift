public import EventflowCore
import Synchronization

/// For every event of a run: what the client knows of it (sent, refused, unknown,
/// acknowledged), the offset of its acknowledgement and when it came.
///
/// Kept as parallel arrays indexed by event number (about 14 bytes per event), so ten
/// million events fit in well under 1 GiB.
public final class ClientLedger: Sendable {
    private struct Storage: Sendable {
        var outcomes: [ClientOutcome] = []
        var streams: [UInt8] = []
        var offsets: [Int64] = []
        var ackMillis: [UInt32] = []
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
            }
            for (position, index) in (request.firstEvent..<end).enumerated() {
                storage.streams[index] = stream
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
        let code = UInt8(streamNames.firstIndex(of: stream) ?? 0)
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

    /// Bytes held, for the memory figure.
    public var footprintBytes: Int {
        storage.withLock { $0.outcomes.capacity + $0.streams.capacity + $0.offsets.capacity * 8 + $0.ackMillis.capacity * 4 }
    }
}
