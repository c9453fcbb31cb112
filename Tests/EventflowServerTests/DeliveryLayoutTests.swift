import EventflowLog
@testable import EventflowServer
import EventflowTesting
import Foundation
import Prometheus
import ServiceLifecycle
import Testing

/// Of processes starting at once on an empty shared log with different layouts, the one
/// that recorded its layout first delivers; the others refuse before claiming anything.
@Suite struct DeliveryLayoutTests {
    @Test func aProcessorRefusesALayoutOtherThanTheOneRecordedFirst() async throws {
        guard case .postgres(let url) = try await TestStorage.postgres.make() else { return }
        let log = try await PostgresEventLog.open(configuration: PostgresLogConfiguration(url: url, streams: ["events"]), logger: quietLogger)
        let group = ServiceGroup(services: [log], gracefulShutdownSignals: [], logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // The first process recorded 4 partitions and has not claimed any yet.
            #expect(try await log.storage.coordination.settleLayout(group: DeliverProcessor.name, partitions: 4) == 4)
            let processor = DeliverProcessor(
                storage: log.storage, configuration: DeliveryConfiguration(targetURL: "http://127.0.0.1:9/deliver"), partitions: 2,
                metrics: DeliveryMetrics(registry: PrometheusCollectorRegistry(), configuration: DeliveryConfiguration()), logger: quietLogger)
            let processorGroup = ServiceGroup(services: [processor], gracefulShutdownSignals: [], logger: quietLogger)
            let outcome = await outcome(stop: { await processorGroup.triggerGracefulShutdown() }) { try await processorGroup.run() }
            #expect(outcome?.contains("cut in 4 partition(s)") == true, "\(outcome ?? "still delivering after 20 s")")
            #expect(outcome?.contains("--deliver-partitions 4") == true)
            let cursors = try await log.backlog().map(\.processor)
            #expect(!cursors.contains { $0.hasPrefix(DeliverProcessor.name) }, "it claimed a partition: \(cursors)")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// The refusal stops the whole server while its other processors are still creating their
    /// tables. It once hung here: the ROLLBACK of a table creation cut short by the shutdown was
    /// sent on a closed connection, and postgres-nio never answers such a statement.
    @Test func aServerWhoseDeliveryRefusesStopsWhileItsProcessorsCreateTheirTables() async throws {
        let storage = try await TestStorage.postgres.make()
        guard case .postgres(let url) = storage else { return }
        let log = try await PostgresEventLog.open(configuration: PostgresLogConfiguration(url: url, streams: ["events"]), logger: quietLogger)
        let group = ServiceGroup(services: [log], gracefulShutdownSignals: [], logger: quietLogger)
        let running = Task { try await group.run() }
        #expect(try await log.storage.coordination.settleLayout(group: DeliverProcessor.name, partitions: 4) == 4)
        await group.triggerGracefulShutdown()
        try await running.value

        var configuration = ServerConfiguration(port: 0, dataDirectory: temporaryDirectory(), delivery: DeliveryConfiguration(targetURL: "http://127.0.0.1:9/deliver"))
        configuration.storage = storage
        configuration.delivery?.partitions = 2
        let app = try await EventflowApplication.build(configuration: configuration, logger: quietLogger)
        // A generous limit: this suite runs beside the others, and starting a server on a busy machine takes a while.
        let outcome = await outcome(within: .seconds(60)) { try await app.runService(gracefulShutdownSignals: []) }
        #expect(outcome?.contains("cut in 4 partition(s)") == true, "\(outcome ?? "still running after 60 s")")
    }
}
