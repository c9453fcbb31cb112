import EventflowCore
import EventflowLog
import Logging
import ServiceLifecycle

/// The `deliver` processor: sends every event of stream `events` to the target, under
/// the target's rate limit, retrying until it is accepted or permanently rejected.
///
/// The stream may be cut into partitions by offset (``StreamPartition``), each with its
/// own cursor and lease, so that several processes sharing one log deliver at once. Each
/// partition this process holds runs as a ``DeliverySession``. Once a second the
/// processor renews its membership of the `deliver` group and takes its fair share of
/// the partitions: it claims free ones while it holds fewer than `ceil(partitions /
/// members)`, and lets extra ones go (their sessions finish their requests in flight,
/// commit, and release the lease) when more processes have joined. With one partition,
/// one process delivers and the others stand by.
///
/// The target's limit is shared in the same way: each partition's session may use
/// `1 / partitions` of the rate and burst, and a partition's lease belongs to one
/// process at a time, so all processes together stay under the limit. The in-flight
/// limit (`concurrency`) is per process, split over the sessions it runs.
final class DeliverProcessor: Service {
    static let name = "deliver"
    static let stream = "events"

    enum Signal: Sendable {
        /// The next balance or hold check is due.
        case due
        case sessionEnded(partition: Int)
        case stop
    }

    /// A session this process runs, and what it was last told.
    private struct Running {
        var session: DeliverySession
        /// Told to drain (handed over, or shutting down).
        var draining = false
        var concurrency: Int
        var holdFresh = false
    }

    private let storage: EventStorage
    private let configuration: DeliveryConfiguration
    private let partitions: [StreamPartition]
    private let metrics: DeliveryMetrics
    private let logger: Logger
    private let gauges = DeliveryGauges()

    init(storage: EventStorage, configuration: DeliveryConfiguration, partitions: Int, metrics: DeliveryMetrics, logger: Logger) {
        precondition(partitions >= 1, "delivery needs at least one partition")
        self.storage = storage
        self.configuration = configuration
        self.partitions = StreamPartition.all(partitions)
        self.metrics = metrics
        self.logger = logger
    }

    /// The cursor (and lease) name of a partition: `deliver` when the stream is not cut.
    func cursorName(_ partition: StreamPartition) -> String {
        partitions.count == 1 ? Self.name : partition.processorName(Self.name)
    }

    func run() async throws {
        try await checkLayout()
        let client = PeerClient(
            timeout: configuration.timeout, connectionsPerHost: configuration.concurrency, maxRetryAfter: configuration.retry.maxRetryAfter,
            retryAfterClamped: metrics.retryAfterClamped)
        let (signals, post) = AsyncStream.makeStream(of: Signal.self)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var sessions: [Int: Running] = [:]
                var stopping = false
                var wake = PendingWake<ContinuousClock.Instant>()
                var nextBalance = ContinuousClock.now
                var nextHoldCheck = ContinuousClock.now
                var signals = signals.makeAsyncIterator()
                while true {
                    if !stopping {
                        if ContinuousClock.now >= nextBalance {
                            // Short of its share, a process asks again soon: partitions handed over become free within moments.
                            let shortOfShare = await balance(&sessions, group: &group, client: client, post: post)
                            nextBalance = ContinuousClock.now + (shortOfShare ? .milliseconds(250) : .seconds(1))
                        }
                        if partitions.count > 1, ContinuousClock.now >= nextHoldCheck {
                            nextHoldCheck = ContinuousClock.now + .milliseconds(250)
                            await shareHolds(&sessions)
                        }
                        wake.set(partitions.count > 1 ? min(nextBalance, nextHoldCheck) : nextBalance) { deadline in
                            try? await Task.sleep(until: deadline)
                            if !Task.isCancelled { post.yield(.due) }
                        }
                    } else if sessions.isEmpty {
                        break
                    }
                    guard let signal = await signals.next() else { break }
                    switch signal {
                    case .due:
                        wake.ended()
                    case .sessionEnded(let partition):
                        sessions[partition] = nil
                    case .stop:
                        stopping = true
                        wake.cancel()
                        for index in sessions.keys {
                            sessions[index]?.draining = true
                            sessions[index]?.session.drain()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            post.yield(.stop)
        }
        await storage.coordination.leaveGroup(Self.name)
        try await client.shutdown()
    }

    /// Refuses to start when the log's delivery is cut differently: a cursor of another
    /// layout would be left behind, and its events delivered again from the start. The
    /// cursors tell what earlier runs did; the recorded layout settles which of several
    /// processes starting at once on an empty shared log goes on.
    private func checkLayout() async throws {
        let expected = Set(partitions.map(cursorName))
        let existing = try await storage.state.backlog().filter { $0.stream == Self.stream && StreamPartition.parse(processorName: $0.processor).processor == Self.name }
        if let other = existing.first(where: { !expected.contains($0.processor) }) {
            let count = StreamPartition.parse(processorName: other.processor).partition?.count ?? 1
            throw DeliveryLayoutError(evidence: "found cursor '\(other.processor)'", foundPartitions: count, configured: partitions.count)
        }
        let recorded = try await storage.coordination.settleLayout(group: Self.name, partitions: partitions.count)
        if recorded != partitions.count {
            throw DeliveryLayoutError(evidence: "recorded in the log by the process that started first", foundPartitions: recorded, configured: partitions.count)
        }
    }

    /// Whether a session this process runs is delivering: not told to drain, and still holding its lease.
    private func isActive(_ index: Int, _ running: Running) -> Bool {
        !running.draining && storage.coordination.holdsLease(processor: cursorName(partitions[index]), stream: Self.stream)
    }

    /// Takes this process's fair share of the partitions (``PartitionShare``), or lets extra
    /// ones go; true when it still holds fewer than its share.
    private func balance(
        _ sessions: inout [Int: Running], group: inout DiscardingTaskGroup, client: PeerClient, post: AsyncStream<Signal>.Continuation
    ) async -> Bool {
        let members: Int
        do {
            members = try await storage.coordination.joinGroup(Self.name)
        } catch {
            logger.warning("deliver could not renew its group membership; keeping its partitions", metadata: ["error": "\(error)"])
            return false
        }
        let share = PartitionShare(partitions: partitions.count)
        let active = Set(sessions.filter { isActive($0.key, $0.value) }.keys)
        switch share.decide(members: members, active: active, running: Set(sessions.keys), start: Int.random(in: 0..<partitions.count)) {
        case .handOver(let indices):
            for index in indices {
                logger.info("deliver hands a partition over", metadata: ["partition": "\(partitions[index])", "members": "\(members)"])
                sessions[index]?.draining = true
                sessions[index]?.session.drain()
            }
        case .claim(var wanted, let candidates):
            for index in candidates where wanted > 0 {
                let partition = partitions[index]
                do {
                    guard try await storage.coordination.acquireLease(processor: cursorName(partition), stream: Self.stream) else { continue }
                } catch {
                    logger.warning("deliver could not claim a partition; retrying", metadata: ["partition": "\(partition)", "error": "\(error)"])
                    continue
                }
                wanted -= 1
                sessions[index] = Running(session: start(partition, client: client, in: &group, post: post), concurrency: configuration.concurrency)
            }
        case .keep:
            break
        }
        let held = sessions.filter { isActive($0.key, $0.value) }.count
        metrics.partitionsHeld.set(Double(held))
        let concurrency = max(1, configuration.concurrency / max(1, held))
        for index in sessions.keys where sessions[index]?.concurrency != concurrency {
            sessions[index]?.concurrency = concurrency
            sessions[index]?.session.setConcurrency(concurrency)
        }
        return held < share.share(members: members)
    }

    /// Holds every partition's fresh events while another partition (in any process) holds
    /// behind an event stuck past the ordering window.
    private func shareHolds(_ sessions: inout [Int: Running]) async {
        let holding: Set<String>
        do {
            holding = try await storage.coordination.holdingMembers(group: Self.name)
        } catch {
            logger.warning("deliver could not read the ordering holds; keeping the last ones", metadata: ["error": "\(error)"])
            return
        }
        for index in sessions.keys {
            let holdFresh = !holding.subtracting([cursorName(partitions[index])]).isEmpty
            guard sessions[index]?.holdFresh != holdFresh else { continue }
            sessions[index]?.holdFresh = holdFresh
            sessions[index]?.session.setHoldFresh(holdFresh)
        }
    }

    private func start(
        _ partition: StreamPartition, client: PeerClient, in group: inout DiscardingTaskGroup, post: AsyncStream<Signal>.Continuation
    ) -> DeliverySession {
        let session = DeliverySession(
            storage: storage, client: client, configuration: configuration, partition: partition, partitions: partitions.count, cursorName: cursorName(partition),
            metrics: metrics, gauges: gauges, logger: logger)
        group.addTask {
            do {
                try await session.run()
            } catch {
                self.logger.warning("deliver stopped on a partition; another claim follows", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
            self.gauges.remove(partition.index, metrics: self.metrics)
            await self.storage.coordination.releaseLease(processor: self.cursorName(partition), stream: Self.stream)
            post.yield(.sessionEnded(partition: partition.index))
        }
        return session
    }
}

/// The log's delivery is cut in another number of partitions than configured.
struct DeliveryLayoutError: Error, CustomStringConvertible {
    /// What shows the log's layout: a cursor, or the recorded layout.
    var evidence: String
    var foundPartitions: Int
    var configured: Int

    var description: String {
        "the log's delivery is cut in \(foundPartitions) partition(s) (\(evidence)), but this process is configured for \(configured): "
            + "start every processor with --deliver-partitions \(foundPartitions)"
    }
}
