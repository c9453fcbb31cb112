import EventflowCore
import EventflowLog
import Logging
import ServiceLifecycle
import Synchronization

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

    private let storage: EventStorage
    private let configuration: DeliveryConfiguration
    private let partitions: [StreamPartition]
    private let metrics: DeliveryMetrics
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let sessions = Mutex<[Int: DeliverySession]>([:])
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
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var nextBalance = ContinuousClock.now
                var nextHoldCheck = ContinuousClock.now
                while !stopping.load(ordering: .relaxed) {
                    if ContinuousClock.now >= nextBalance {
                        // Short of its share, a process asks again soon: partitions handed over become free within moments.
                        let shortOfShare = await balance(&group, client: client)
                        nextBalance = ContinuousClock.now + (shortOfShare ? .milliseconds(250) : .seconds(1))
                    }
                    if partitions.count > 1, ContinuousClock.now >= nextHoldCheck {
                        nextHoldCheck = ContinuousClock.now + .milliseconds(250)
                        await shareHolds()
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            for session in self.sessions.withLock({ Array($0.values) }) { session.drain() }
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

    /// Takes this process's fair share of the partitions, or lets extra ones go; true when
    /// it still holds fewer than its share.
    private func balance(_ group: inout DiscardingTaskGroup, client: PeerClient) async -> Bool {
        let members: Int
        do {
            members = try await storage.coordination.joinGroup(Self.name)
        } catch {
            logger.warning("deliver could not renew its group membership; keeping its partitions", metadata: ["error": "\(error)"])
            return false
        }
        let share = (partitions.count + members - 1) / members
        let (active, running) = sessions.withLock { sessions in
            (sessions.values.filter { !$0.isDraining }.map(\.partition), Set(sessions.keys))
        }
        if active.count > share {
            for partition in active.sorted(by: { $0.index > $1.index }).prefix(active.count - share) {
                logger.info("deliver hands a partition over", metadata: ["partition": "\(partition)", "members": "\(members)"])
                sessions.withLock { $0[partition.index] }?.drain()
            }
        } else if active.count < share {
            var wanted = share - active.count
            let first = Int.random(in: 0..<partitions.count)
            for step in 0..<partitions.count where wanted > 0 && !stopping.load(ordering: .relaxed) {
                let partition = partitions[(first + step) % partitions.count]
                guard !running.contains(partition.index) else { continue }
                do {
                    guard try await storage.coordination.acquireLease(processor: cursorName(partition), stream: Self.stream) else { continue }
                } catch {
                    logger.warning("deliver could not claim a partition; retrying", metadata: ["partition": "\(partition)", "error": "\(error)"])
                    continue
                }
                wanted -= 1
                start(partition, client: client, in: &group)
            }
        }
        let held = sessions.withLock { sessions in sessions.values.filter { !$0.isDraining }.count }
        metrics.partitionsHeld.set(Double(held))
        let concurrency = max(1, configuration.concurrency / max(1, held))
        for session in sessions.withLock({ Array($0.values) }) { session.concurrency = concurrency }
        return held < share
    }

    /// Holds every partition's fresh events while another partition (in any process) holds
    /// behind an event stuck past the ordering window.
    private func shareHolds() async {
        let holding: Set<String>
        do {
            holding = try await storage.coordination.holdingMembers(group: Self.name)
        } catch {
            logger.warning("deliver could not read the ordering holds; keeping the last ones", metadata: ["error": "\(error)"])
            return
        }
        for session in sessions.withLock({ Array($0.values) }) {
            session.holdFresh = !holding.subtracting([cursorName(session.partition)]).isEmpty
        }
    }

    private func start(_ partition: StreamPartition, client: PeerClient, in group: inout DiscardingTaskGroup) {
        let session = DeliverySession(
            storage: storage, client: client, configuration: configuration, partition: partition, partitions: partitions.count, cursorName: cursorName(partition),
            metrics: metrics, gauges: gauges, logger: logger)
        sessions.withLock { $0[partition.index] = session }
        if stopping.load(ordering: .relaxed) { session.drain() }
        group.addTask {
            do {
                try await session.run()
            } catch {
                self.logger.warning("deliver stopped on a partition; another claim follows", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
            self.sessions.withLock { _ = $0.removeValue(forKey: partition.index) }
            self.gauges.remove(partition.index, metrics: self.metrics)
            await self.storage.coordination.releaseLease(processor: self.cursorName(partition), stream: Self.stream)
        }
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
