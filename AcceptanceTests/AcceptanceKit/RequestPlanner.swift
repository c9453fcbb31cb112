import EventflowCore

/// One request of the load, fixed before it is sent.
public struct PlannedRequest: Sendable {
    /// Sequence number of the request.
    public var number: Int
    public var stream: String
    /// The events it carries: global event indices.
    public var firstEvent: Int
    public var count: Int
    /// Seconds after the start at which it should be sent.
    public var intendedTime: Double
    /// Seconds after the start that its events carry as their time: the intended time of
    /// the request that first sent them (in whole milliseconds), so a re-send carries the same events.
    public var eventTime: Double
    /// Whether it re-sends an earlier request's events (a client retry).
    public var isDuplicate: Bool
}

/// Plans the load's requests in order from a seed: which stream, how many events, when,
/// and which ones re-send earlier ids. The same seed gives the same plan.
public struct RequestPlanner: Sendable {
    private let schedule: RateSchedule
    private let streams: [String]
    private let streamWeights: [Double]
    private let batchSizes: [Int]
    private let batchWeights: [Double]
    private let duplicateShare: Double
    private var random: SplitMix64
    private var offeredEvents = 0.0
    private var nextEvent = 0
    private var nextNumber = 0
    private var lastByStream: [String: (first: Int, count: Int, time: Double)] = [:]

    public init(profile: LoadProfile, schedule: RateSchedule, seed: UInt64) {
        self.schedule = schedule
        streams = profile.mix.map(\.stream)
        streamWeights = profile.mix.map(\.share)
        batchSizes = profile.batchSizes
        batchWeights = profile.batchWeights
        duplicateShare = profile.duplicates
        random = SplitMix64(seed: seed)
    }

    /// The next request, or nil when the schedule is over.
    public mutating func next() -> PlannedRequest? {
        let stream = streams[pick(streamWeights)]
        var count = batchSizes[pick(batchWeights)]
        guard let time = schedule.time(atEvents: offeredEvents) else { return nil }
        var first = nextEvent
        // Whole milliseconds, so the ledger keeps it exactly and an oracle recomputes the same event times.
        var eventTime = (time * 1000).rounded(.down) / 1000
        var duplicate = false
        if random.unit() < duplicateShare, let last = lastByStream[stream] {
            (first, count, eventTime, duplicate) = (last.first, last.count, last.time, true)
        } else {
            nextEvent += count
            lastByStream[stream] = (first, count, eventTime)
        }
        offeredEvents += Double(count)
        defer { nextNumber += 1 }
        return PlannedRequest(
            number: nextNumber, stream: stream, firstEvent: first, count: count, intendedTime: time, eventTime: eventTime, isDuplicate: duplicate)
    }

    private mutating func pick(_ weights: [Double]) -> Int {
        var roll = random.unit() * weights.reduce(0, +)
        for (index, weight) in weights.enumerated() {
            roll -= weight
            if roll < 0 { return index }
        }
        return weights.count - 1
    }
}
