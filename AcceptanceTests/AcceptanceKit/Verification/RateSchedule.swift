/// An open-model arrival schedule: a piecewise-linear event rate over time, and the
/// inverse of its integral, so the k-th event's intended send time is fixed in advance
/// and never depends on how fast the system answers.
///
/// Each stage ramps linearly from the previous stage's rate (0 before the first) to its
/// own over its duration, as k6 stages do; a stage of zero duration is a jump.
public struct RateSchedule: Sendable, Equatable {
    public struct Stage: Sendable, Equatable {
        public var duration: Double
        /// Events per second at the end of the stage.
        public var rate: Double

        public init(duration: Double, rate: Double) {
            self.duration = duration
            self.rate = rate
        }
    }

    public let stages: [Stage]

    public init(stages: [Stage]) {
        precondition(stages.allSatisfy { $0.duration >= 0 && $0.rate >= 0 }, "stages need non-negative durations and rates")
        self.stages = stages
    }

    public var duration: Double { stages.reduce(0) { $0 + $1.duration } }

    /// The same schedule with every stage's duration multiplied by `factor`.
    public func scaled(by factor: Double) -> RateSchedule {
        RateSchedule(stages: stages.map { Stage(duration: $0.duration * factor, rate: $0.rate) })
    }

    /// The offered rate at time `t`, in events per second.
    public func rate(at t: Double) -> Double {
        var start = 0.0
        var previous = 0.0
        for stage in stages {
            if t < start + stage.duration {
                return previous + (stage.rate - previous) * (t - start) / stage.duration
            }
            start += stage.duration
            previous = stage.rate
        }
        return 0
    }

    /// Events offered from 0 to `t`.
    public func events(until t: Double) -> Double {
        var start = 0.0
        var previous = 0.0
        var total = 0.0
        for stage in stages {
            let elapsed = min(max(t - start, 0), stage.duration)
            if stage.duration > 0 {
                total += elapsed * (previous + (stage.rate - previous) * elapsed / stage.duration / 2)
            }
            start += stage.duration
            previous = stage.rate
            if t <= start { break }
        }
        return total
    }

    /// Events offered over the whole schedule.
    public var totalEvents: Double { events(until: duration) }

    /// The time at which `count` events have been offered; nil when the schedule ends first.
    public func time(atEvents count: Double) -> Double? {
        var start = 0.0
        var previous = 0.0
        var total = 0.0
        for stage in stages {
            guard stage.duration > 0 else {
                previous = stage.rate
                continue
            }
            let slope = (stage.rate - previous) / stage.duration
            let stageEvents = stage.duration * (previous + stage.rate) / 2
            if count <= total + stageEvents {
                let needed = count - total
                // needed = previous·x + slope·x²/2, solved for x in [0, duration].
                let x: Double
                if abs(slope) < 1e-12 {
                    x = previous > 0 ? needed / previous : 0
                } else {
                    let discriminant = max(0, previous * previous + 2 * slope * needed)
                    x = (-previous + discriminant.squareRoot()) / slope
                }
                return start + min(max(x, 0), stage.duration)
            }
            total += stageEvents
            start += stage.duration
            previous = stage.rate
        }
        return nil
    }
}
