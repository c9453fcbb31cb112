import EventflowLog
import EventflowMetrics
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// Deletes what the retention policy lets go (``RetentionRule``): every stream's events
/// older than the maximum age that every processor has passed, whole record batches at a
/// time, through the log's writer in small transactions.
///
/// It looks again when the oldest batch it kept comes of age (``RetentionRule/Decision/nextLookAtMs``),
/// and at least every ``longestWait`` for batches that waited for a processor; a look that
/// deleted something looks again at once, until nothing of age is left.
final class LogRetentionService: Service {
    /// The longest the service sleeps: batches held back by a processor's cursor are looked at again after it.
    static let longestWait: Duration = .seconds(30)
    /// The shortest sleep between two looks, so that batches coming of age one after the
    /// other cost one look a second at most.
    static let shortestWait: Duration = .seconds(1)
    /// Batches read per look and stream.
    static let batchesPerLook = 1024

    private let retention: any LogRetention
    private let streams: [String]
    private let rule: RetentionRule
    private let deleted: [String: Counter]
    private let firstRetained: [String: Gauge]
    private let logger: Logger

    init(retention: any LogRetention, streams: [String], rule: RetentionRule, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.retention = retention
        self.streams = streams
        self.rule = rule
        self.deleted = Dictionary(
            uniqueKeysWithValues: streams.map {
                ($0, registry.counter("eventflow_log_deleted_events_total", labels: [("stream", $0)], help: "Events retention deleted from the log"))
            })
        self.firstRetained = Dictionary(
            uniqueKeysWithValues: streams.map {
                ($0, registry.gauge("eventflow_log_first_retained_offset", labels: [("stream", $0)], help: "The oldest offset of the stream the log still holds"))
            })
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var wait = Self.longestWait
                for stream in self.streams {
                    do {
                        if let next = try await self.applyRule(to: stream) { wait = min(wait, next) }
                    } catch {
                        self.logger.warning("retention could not look at the stream", metadata: ["stream": "\(stream)", "error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: max(wait, Self.shortestWait))
            }
        }
    }

    /// Deletes what the rule lets go of `stream`; returns how long until it should look again.
    private func applyRule(to stream: String) async throws -> Duration? {
        while !Task.isCancelled {
            let oldest = try await retention.oldestBatches(stream: stream, limit: Self.batchesPerLook)
            firstRetained[stream]?.set(Double(oldest.first?.firstOffset ?? 0))
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            let decision = rule.decide(oldest: oldest, slowestCursor: try await retention.slowestCursor(stream: stream), nowMs: nowMs)
            guard let below = decision.deleteBelow else {
                return .milliseconds(max(0, decision.nextLookAtMs - nowMs))
            }
            let events = try await retention.deleteEvents(stream: stream, below: below)
            guard events > 0 else { return .milliseconds(max(0, decision.nextLookAtMs - nowMs)) }
            deleted[stream]?.increment(by: Int64(events))
        }
        return nil
    }
}
