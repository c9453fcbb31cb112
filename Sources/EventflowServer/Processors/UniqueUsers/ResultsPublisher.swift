import EventflowCore
import Logging
import NIOCore
import ServiceLifecycle

/// POSTs the results `unique-users` emits to `--results-url`, as a JSON array per commit.
///
/// Results are already committed when they are handed over; publishing is a notification
/// and retried with backoff (5 attempts). Up to 10,000 batches wait; beyond that the
/// oldest are dropped and counted, so a dead receiver never holds memory or the processor.
final class ResultsPublisher: Service {
    private let url: String
    private let metrics: UniqueUsersMetrics
    private let logger: Logger
    private let stream: AsyncStream<[WindowResult]>
    private let continuation: AsyncStream<[WindowResult]>.Continuation
    private let retry = RetrySchedule(initial: 0.2, maximum: 5)
    static let attempts = 5

    init(url: String, metrics: UniqueUsersMetrics, logger: Logger) {
        self.url = url
        self.metrics = metrics
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: [WindowResult].self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// Queues results for publishing.
    func publish(_ results: [WindowResult]) {
        if case .dropped = continuation.yield(results) { metrics.publishFailures.increment() }
    }

    func run() async throws {
        let client = PeerClient(timeout: .seconds(5), maxRetryAfter: retry.maxRetryAfter, retryAfterClamped: metrics.retryAfterClamped)
        await withGracefulShutdownHandler {
            for await results in stream {
                await send(results, client: client)
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
        try await client.shutdown()
    }

    private func send(_ results: [WindowResult], client: PeerClient) async {
        let body = ByteBuffer(string: "[" + results.map { $0.json(withWindow: true) }.joined(separator: ",") + "]")
        for attempt in 1...Self.attempts {
            let answer = await client.postJSON(url, body: body, timeout: .seconds(5))
            if answer.outcome == .delivered { return }
            logger.warning("results URL failed", metadata: ["url": "\(url)", "attempt": "\(attempt)", "outcome": "\(answer.outcome)"])
            if attempt < Self.attempts {
                var retryAfter: Double?
                if case .throttled(let seconds) = answer.outcome { retryAfter = seconds }
                try? await Task.sleep(for: .checkedSeconds(retry.delay(afterFailures: attempt, random: Double.random(in: 0..<1), retryAfter: retryAfter)))
            }
        }
        metrics.publishFailures.increment()
    }
}
