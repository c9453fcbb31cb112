import EventflowCore
import Foundation
public import Histogram
public import NIOCore
import NIOPosix
import Synchronization

/// One second of the load, as the progress line and the report show it.
public struct LoadSecond: Sendable {
    public var second: Int
    public var offeredEvents: Int
    public var acknowledgedEvents: Int
    public var errors: Int
    public var p50Millis: Double
    public var p99Millis: Double
}

/// What the generator measured.
public struct LoadResult: Sendable {
    /// Latency from the intended send time to the answer, microseconds.
    public var latency: Histogram<UInt64>
    /// How late sends left compared with their intended time, microseconds.
    public var lag: Histogram<UInt64>
    /// Sends that left more than 1 ms after their intended time.
    public var lateSends: Int
    public var requests: Int
    public var offeredEvents: Int
    public var acknowledgedEvents: Int
    public var statusCounts: [Int: Int]
    /// Requests without an answer (timeout, connection error).
    public var unanswered: Int
    /// From the start until the last answer (at least the schedule's length): a generator
    /// that falls behind takes longer, and its achieved rate shows it.
    public var durationSeconds: Double
    public var seconds: [LoadSecond]
    /// Unix time of the start: events carry it plus their request's event time.
    public var startedAtSeconds: Double
}

/// Drives the system with an open-model load: each request leaves at the time the
/// schedule fixed for it, whatever the system does; latency is counted from that
/// intended time, and the generator reports its own lag instead of silently slowing down.
/// Each of the profile's connections is one keep-alive HTTP/1.1 connection on SwiftNIO.
public final class LoadGenerator: Sendable {
    public struct Configuration: Sendable {
        public var baseURL: String
        public var connections: Int
        public var requestTimeout: TimeAmount

        public init(baseURL: String, connections: Int, requestTimeout: TimeAmount = .seconds(10)) {
            self.baseURL = baseURL
            self.connections = connections
            self.requestTimeout = requestTimeout
        }
    }

    private struct State: Sendable {
        var planner: RequestPlanner
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var lag = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var currentSecond = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .two)
        var lateSends = 0
        var requests = 0
        var offeredEvents = 0
        var acknowledgedEvents = 0
        var statusCounts: [Int: Int] = [:]
        var unanswered = 0
        var secondOffered = 0
        var secondAcknowledged = 0
        var secondErrors = 0
        var seconds: [LoadSecond] = []
    }

    public let configuration: Configuration
    public let ledger: ClientLedger
    public let factory: EventFactory
    private let host: String
    private let port: Int
    private let hostHeader: String
    private let state: Mutex<State>
    public let schedule: RateSchedule

    /// `frameTimeShiftSeconds` moves every frame's event time that far into the past (see ``EventFactory``).
    public init(configuration: Configuration, profile: LoadProfile, schedule: RateSchedule, seed: UInt64, runID: String, frameTimeShiftSeconds: Int = 0) {
        self.configuration = configuration
        self.schedule = schedule
        ledger = ClientLedger(streams: profile.mix.map(\.stream))
        factory = EventFactory(
            runID: runID, lateFraction: profile.lateFraction, lateMaxDelaySeconds: profile.lateMaxDelaySeconds, frameTimeShiftSeconds: frameTimeShiftSeconds)
        let address = configuration.baseURL.replacingOccurrences(of: "http://", with: "").split(separator: "/").first ?? ""
        host = String(address.split(separator: ":").first ?? "127.0.0.1")
        port = address.split(separator: ":").last.flatMap { Int($0) } ?? 80
        hostHeader = "\(host):\(port)"
        state = Mutex(State(planner: RequestPlanner(profile: profile, schedule: schedule, seed: seed)))
    }

    /// Runs the whole schedule; `onSecond` is called once per second with that second's figures.
    public func run(onSecond: @escaping @Sendable (LoadSecond) -> Void) async -> LoadResult {
        let started = ContinuousClock.now
        let start = NIODeadline.now()
        let wallStart = Date().timeIntervalSince1970
        let driver = KeepAliveConnection.Driver(
            next: { self.state.withLock { $0.planner.next() } },
            request: { self.encodedRequest($0, wallStart: wallStart) },
            completed: { request, lag, latency, answer in self.record(request, lag: lag, latency: latency, answer: answer, started: started) })
        let group = MultiThreadedEventLoopGroup.singleton
        let connections = (0..<configuration.connections).map { _ in
            KeepAliveConnection.run(on: group.next(), host: host, port: port, timeout: configuration.requestTimeout, start: start, driver: driver)
        }
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.reportSeconds(from: started, until: self.schedule.duration, onSecond: onSecond) }
            for connection in connections {
                tasks.addTask { try? await connection.get() }
            }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        return state.withLock { state in
            LoadResult(
                latency: state.latency, lag: state.lag, lateSends: state.lateSends, requests: state.requests, offeredEvents: state.offeredEvents,
                acknowledgedEvents: state.acknowledgedEvents, statusCounts: state.statusCounts, unanswered: state.unanswered,
                durationSeconds: max(elapsed, schedule.duration), seconds: state.seconds, startedAtSeconds: wallStart)
        }
    }

    /// Room kept before the body for the request line and headers, so one buffer holds the request.
    private static let headRoom = 192

    /// The POST of one planned request, encoded whole: NDJSON of its events, stamped with their event time.
    private func encodedRequest(_ request: PlannedRequest, wallStart: Double) -> ByteBuffer {
        var encoded = ByteBufferAllocator().buffer(capacity: Self.headRoom + factory.bodyBytes(stream: request.stream, count: request.count))
        encoded.moveWriterIndex(to: Self.headRoom)
        encoded.moveReaderIndex(to: Self.headRoom)
        factory.writeBody(stream: request.stream, first: request.firstEvent, count: request.count, nowSeconds: wallStart + request.eventTime, into: &encoded)
        let head = "POST /v1/streams/\(request.stream)/events HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(encoded.readableBytes)\r\n\r\n"
        let headStart = Self.headRoom - head.utf8.count
        guard headStart >= 0 else {
            // A host name too long for the room: the slow way, a second buffer.
            var whole = ByteBuffer(string: head)
            whole.writeBuffer(&encoded)
            return whole
        }
        encoded.setString(head, at: headStart)
        encoded.moveReaderIndex(to: headStart)
        return encoded
    }

    /// Books one request's outcome into the ledger and the figures.
    private func record(_ request: PlannedRequest, lag: TimeAmount, latency: TimeAmount, answer: RawResponse?, started: ContinuousClock.Instant) {
        let status = answer?.status
        let outcome: ClientOutcome =
            switch status {
            case 202: .acknowledged
            case nil: .unknown
            default: .rejected
            }
        let firstOffset = status == 202 ? answer.flatMap { Self.firstOffset(in: $0.body) } : nil
        ledger.record(request, outcome: outcome, firstOffset: firstOffset, atMillis: UInt32(max(0, (ContinuousClock.now - started).seconds * 1000)))
        let latencyMicros = UInt64(max(0, latency.nanoseconds / 1_000))
        let lagMicros = UInt64(max(0, lag.nanoseconds / 1_000))
        state.withLock { state in
            _ = state.latency.record(latencyMicros)
            _ = state.currentSecond.record(latencyMicros)
            _ = state.lag.record(lagMicros)
            if lag > .milliseconds(1) { state.lateSends += 1 }
            state.requests += 1
            state.offeredEvents += request.count
            state.secondOffered += request.count
            if let status { state.statusCounts[status, default: 0] += 1 } else { state.unanswered += 1 }
            if outcome == .acknowledged {
                state.acknowledgedEvents += request.count
                state.secondAcknowledged += request.count
            } else {
                state.secondErrors += 1
            }
        }
    }

    private static let firstOffsetKey = Array(#""first_offset":"#.utf8)

    /// `first_offset` of a 202's JSON answer.
    static func firstOffset(in answer: ByteBuffer) -> Int64? {
        answer.withUnsafeReadableBytes { bytes in
            let key = firstOffsetKey
            guard bytes.count >= key.count else { return nil }
            for start in 0...(bytes.count - key.count) where bytes[start] == key[0] {
                guard (1..<key.count).allSatisfy({ bytes[start + $0] == key[$0] }) else { continue }
                var offset: Int64?
                for byte in bytes[(start + key.count)...] {
                    guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { break }
                    offset = (offset ?? 0) * 10 + Int64(byte - UInt8(ascii: "0"))
                }
                return offset
            }
            return nil
        }
    }

    private func reportSeconds(from started: ContinuousClock.Instant, until duration: Double, onSecond: @Sendable (LoadSecond) -> Void) async {
        var second = 0
        while Double(second) < duration + 30 {
            second += 1
            try? await Task.sleep(until: started + .seconds(second), clock: .continuous)
            let sample = state.withLock { state -> LoadSecond in
                let sample = LoadSecond(
                    second: second, offeredEvents: state.secondOffered, acknowledgedEvents: state.secondAcknowledged, errors: state.secondErrors,
                    p50Millis: Double(state.currentSecond.valueAtPercentile(50)) / 1000, p99Millis: Double(state.currentSecond.valueAtPercentile(99)) / 1000)
                state.seconds.append(sample)
                state.secondOffered = 0
                state.secondAcknowledged = 0
                state.secondErrors = 0
                state.currentSecond.reset()
                return sample
            }
            onSecond(sample)
            let finished = state.withLock { $0.requests } > 0 && Double(second) >= duration
            if finished { return }
        }
    }
}
