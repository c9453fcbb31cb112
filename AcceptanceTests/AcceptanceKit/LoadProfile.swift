public import EventflowCore
import Foundation
import Yams

/// A load profile (`LoadProfiles/*.yaml`): how much to send, of what, for how long, and
/// which figures must hold. The schema is in docs/load-profiles.md.
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

        enum CodingKeys: String, CodingKey {
            case rate, burst, batch
            case callbackRate = "callback_rate"
            case callbackBurst = "callback_burst"
            case errorRate = "error_rate"
        }
    }

    struct File: Decodable {
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

    /// Reads and checks a profile; errors say which key is wrong.
    public static func load(path: String) throws -> LoadProfile {
        guard let data = FileManager.default.contents(atPath: path) else { throw ProfileError("cannot read profile \(path)") }
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: data)
        } catch {
            throw ProfileError("profile \(path) is not valid: \(error)")
        }
        return try LoadProfile(file, path: path)
    }

    init(_ file: File, path: String) throws {
        name = file.name
        peakEventsPerSecond = file.peakEventsPerSecond
        multiplier = file.multiplier
        stages = try file.stages.map { stage in
            guard let seconds = DurationText.seconds(stage.duration), seconds >= 0 else {
                throw ProfileError("\(path): stage duration '\(stage.duration)' is not a duration like 10s")
            }
            return (seconds, stage.fraction)
        }
        let total = file.mix.values.reduce(0, +)
        guard total > 0 else { throw ProfileError("\(path): mix needs at least one stream with a positive share") }
        mix = file.mix.sorted { $0.key < $1.key }.map { ($0.key, $0.value / total) }
        guard file.batch.sizes.count == file.batch.weights.count, !file.batch.sizes.isEmpty, file.batch.sizes.allSatisfy({ $0 >= 1 }) else {
            throw ProfileError("\(path): batch needs as many weights as sizes, and sizes of at least 1")
        }
        batchSizes = file.batch.sizes
        batchWeights = file.batch.weights
        connections = max(1, file.connections)
        lateFraction = file.late?.fraction ?? 0
        lateMaxDelaySeconds = file.late.flatMap { DurationText.seconds($0.maxDelay) } ?? 0
        duplicates = file.duplicates ?? 0
        target = file.target ?? Target()
        thresholds = try file.thresholds.sorted { $0.key < $1.key }.map { figure, text in
            guard let rule = Threshold(text) else { throw ProfileError("\(path): threshold '\(figure): \(text)' is not like \"< 50\" or \">= 0.99\"") }
            return (figure, rule)
        }
        drainLimitSeconds = file.drainLimit.flatMap(DurationText.seconds) ?? 120
    }

    /// The arrival schedule for a given peak (events per second), stages scaled by `durationScale`.
    public func schedule(peak: Double? = nil, durationScale: Double = 1) -> RateSchedule {
        let base = (peak ?? peakEventsPerSecond) * multiplier
        return RateSchedule(stages: stages.map { .init(duration: $0.seconds, rate: base * $0.fraction) }).scaled(by: durationScale)
    }
}

public struct ProfileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
