import EventflowCore

/// A load profile (`LoadProfiles/*.yaml`): how much to send, of what, for how long, and
/// which figures must hold. The schema is in docs/load-profiles.md.
///
/// A profile is outside input: every value is checked before the suite uses it (a finite
/// number in its range, a duration, a stream name, a threshold), and an error names the key.
/// Reading the YAML is apart (`LoadProfile.load(path:)`), so this part is fuzzed on its own.
public struct LoadProfile: Sendable {
    public struct Stage: Sendable, Decodable {
        public var duration: String
        public var fraction: Double
    }

    public struct Batch: Sendable, Decodable {
        public var sizes: [Int]
        public var weights: [Double]
    }

    public struct Late: Sendable, Decodable {
        public var fraction: Double
        public var maxDelay: String

        enum CodingKeys: String, CodingKey {
            case fraction
            case maxDelay = "max_delay"
        }
    }

    /// The spawned reference target: `rate` and `burst` limit its `/deliver` route (and
    /// become Eventflow's `--target-rate`/`--target-burst`); `callback_rate` and
    /// `callback_burst` limit `/callbacks` apart from it.
    public struct Target: Sendable, Decodable {
        public var rate: Double?
        public var burst: Double?
        public var callbackRate: Double?
        public var callbackBurst: Double?
        public var batch: Int?
        public var errorRate: Double?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case rate, burst, batch
            case callbackRate = "callback_rate"
            case callbackBurst = "callback_burst"
            case errorRate = "error_rate"
        }
    }

    /// A profile as written, before its values are checked.
    public struct Document: Sendable, Decodable {
        var name: String
        var peakEventsPerSecond: Double
        var multiplier: Double
        var stages: [Stage]
        var mix: [String: Double]
        var batch: Batch
        var connections: Int
        var late: Late?
        var duplicates: Double?
        var target: Target?
        var thresholds: [String: String]
        var drainLimit: String?

        enum CodingKeys: String, CodingKey {
            case name, multiplier, stages, mix, batch, connections, late, duplicates, target, thresholds
            case peakEventsPerSecond = "peak_events_per_second"
            case drainLimit = "drain_limit"
        }
    }

    /// The highest peak a profile or `--peak-from` may give, in events per second.
    public static let maxPeakEventsPerSecond = 10_000_000.0
    /// The highest rate the generator is asked to offer (peak × multiplier × a stage's fraction).
    public static let maxOfferedEventsPerSecond = 100_000_000.0

    public var name: String
    public var peakEventsPerSecond: Double
    public var multiplier: Double
    public var stages: [(seconds: Double, fraction: Double)]
    /// Share of events per stream, normalised to sum to 1.
    public var mix: [(stream: String, share: Double)]
    public var batchSizes: [Int]
    public var batchWeights: [Double]
    public var connections: Int
    public var lateFraction: Double
    public var lateMaxDelaySeconds: Double
    /// Share of requests that re-send an earlier request's ids (a client retry).
    public var duplicates: Double
    public var target: Target
    public var thresholds: [(figure: String, rule: Threshold)]
    /// Longest wait for the backlog to drain after the load.
    public var drainLimitSeconds: Double

    /// Checks a profile's values; `source` (its path) starts every error message.
    public init(_ document: Document, source: String) throws {
        let check = ProfileCheck(source: source)
        name = try check.name(document.name)
        peakEventsPerSecond = try check.number(document.peakEventsPerSecond, "peak_events_per_second", above: 0, atMost: Self.maxPeakEventsPerSecond)
        multiplier = try check.number(document.multiplier, "multiplier", above: 0, atMost: 1_000)
        guard (1...100).contains(document.stages.count) else { throw check.error("stages: give 1 to 100 stages") }
        stages = try document.stages.enumerated().map { index, stage in
            (
                try check.duration(stage.duration, "stages[\(index)].duration"),
                try check.number(stage.fraction, "stages[\(index)].fraction", from: 0, atMost: 100)
            )
        }
        let highestOffered = peakEventsPerSecond * multiplier * (stages.map(\.fraction).max() ?? 0)
        guard highestOffered <= Self.maxOfferedEventsPerSecond else {
            throw check.error("peak_events_per_second × multiplier × the largest stage fraction is \(highestOffered) events/s; at most \(Self.maxOfferedEventsPerSecond) can be offered")
        }
        guard (1...32).contains(document.mix.count) else { throw check.error("mix: give 1 to 32 streams") }
        let shares = try document.mix.sorted { $0.key < $1.key }.map { stream, share in
            guard StreamSchema.isValidName(stream) else {
                throw check.error("mix: '\(stream)' is not a stream name (1–48 of a-z, 0-9, _, starting with a letter)")
            }
            return (stream, try check.number(share, "mix.\(stream)", from: 0, atMost: 1e9))
        }
        let total = shares.reduce(0) { $0 + $1.1 }
        guard total > 0 else { throw check.error("mix needs at least one stream with a positive share") }
        mix = shares.map { ($0.0, $0.1 / total) }
        let batch = document.batch
        guard (1...100).contains(batch.sizes.count), batch.sizes.count == batch.weights.count else {
            throw check.error("batch needs 1 to 100 sizes and as many weights as sizes")
        }
        batchSizes = try batch.sizes.enumerated().map { index, size in
            guard (1...10_000).contains(size) else { throw check.error("batch.sizes[\(index)] must be 1 to 10000 events (got \(size))") }
            return size
        }
        batchWeights = try batch.weights.enumerated().map { try check.number($1, "batch.weights[\($0)]", from: 0, atMost: 1e9) }
        guard batchWeights.reduce(0, +) > 0 else { throw check.error("batch.weights needs at least one positive weight") }
        guard (1...10_000).contains(document.connections) else {
            throw check.error("connections must be 1 to 10000 (got \(document.connections))")
        }
        connections = document.connections
        lateFraction = try document.late.map { try check.number($0.fraction, "late.fraction", from: 0, atMost: 1) } ?? 0
        lateMaxDelaySeconds = try document.late.map { try check.duration($0.maxDelay, "late.max_delay") } ?? 0
        duplicates = try document.duplicates.map { try check.number($0, "duplicates", from: 0, atMost: 1) } ?? 0
        target = try check.target(document.target ?? Target())
        thresholds = try document.thresholds.sorted { $0.key < $1.key }.map { figure, text in
            guard let rule = Threshold(text) else { throw check.error("threshold '\(figure): \(text)' is not like \"< 50\" or \">= 0.99\"") }
            return (figure, rule)
        }
        drainLimitSeconds = try document.drainLimit.map { try check.duration($0, "drain_limit") } ?? 120
    }

    /// The arrival schedule for a given peak (events per second), stages scaled by `durationScale`.
    /// A peak given here (from a measured system) must pass `checkedPeak` first.
    public func schedule(peak: Double? = nil, durationScale: Double = 1) -> RateSchedule {
        let base = (peak ?? peakEventsPerSecond) * multiplier
        return RateSchedule(stages: stages.map { .init(duration: $0.seconds, rate: base * $0.fraction) }).scaled(by: durationScale)
    }

    /// A peak taken from outside the profile (a system's metrics), checked like the profile's own.
    public static func checkedPeak(_ peak: Double, source: String) throws -> Double {
        try ProfileCheck(source: source).number(peak, "peak", above: 0, atMost: maxPeakEventsPerSecond)
    }
}

/// Why a load profile cannot be used, naming the file and the key.
public struct ProfileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The checks a profile's values go through, each error starting with the profile's source.
struct ProfileCheck {
    let source: String

    func error(_ message: String) -> ProfileError { ProfileError("\(source): \(message)") }

    func number(_ value: Double, _ key: String, above lower: Double, atMost upper: Double) throws -> Double {
        guard value.isFinite, value > lower, value <= upper else { throw error("\(key) must be above \(lower) and at most \(upper) (got \(value))") }
        return value
    }

    func number(_ value: Double, _ key: String, from lower: Double, atMost upper: Double) throws -> Double {
        guard value.isFinite, value >= lower, value <= upper else { throw error("\(key) must be from \(lower) to \(upper) (got \(value))") }
        return value
    }

    func duration(_ text: String, _ key: String) throws -> Double {
        guard let seconds = DurationText.seconds(text) else { throw error("\(key) '\(text)' is not a duration like 10s, 5m or 1h") }
        return seconds
    }

    /// A name that can be part of a results folder's name: 1–64 of a-z, A-Z, 0-9, `-`, `_`, `.`, not starting with `.`.
    func name(_ name: String) throws -> String {
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".")
        }
        guard allowed, (1...64).contains(name.utf8.count), !name.hasPrefix(".") else {
            throw error("name must be 1 to 64 of a-z, A-Z, 0-9, '-', '_', '.', not starting with '.' (it names the results folder)")
        }
        return name
    }

    func target(_ target: LoadProfile.Target) throws -> LoadProfile.Target {
        for (key, value) in [("target.rate", target.rate), ("target.burst", target.burst), ("target.callback_rate", target.callbackRate), ("target.callback_burst", target.callbackBurst)] {
            if let value { _ = try number(value, key, above: 0, atMost: 1e9) }
        }
        if let batch = target.batch, !(1...10_000).contains(batch) { throw error("target.batch must be 1 to 10000 (got \(batch))") }
        if let errorRate = target.errorRate { _ = try number(errorRate, "target.error_rate", from: 0, atMost: 1) }
        return target
    }
}
