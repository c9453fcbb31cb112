import EventflowLog
import EventflowServer
import EventflowTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Collector and processor processes sharing one PostgreSQL log, as separate servers.
@Suite struct ScaleOutTests {
    @Test func collectorsIngestAndTheProcessorHoldingTheLeaseProcessesThenHandsItOver() async throws {
        let storage = try await TestStorage.postgres.make()
        let delivered = (0..<600).map { _ in #"{"domain":"shared.example","type":"delivered"}"# }.joined(separator: "\n")
        try await withServer(log: storage, { $0.role = .collector }) { firstCollector, _ in
            try await withServer(log: storage, { $0.role = .collector }) { secondCollector, _ in
                try await withServer(log: storage, { $0.role = .processor; $0.leaseDuration = .seconds(2) }) { processor, _ in
                    let refused = try await processor.ingest("domains", #"{"domain":"a.example","type":"delivered"}"#)
                    #expect(refused.status == .misdirectedRequest)
                    #expect(String(buffer: refused.body).contains("--role processor"))
                    #expect(try await firstCollector.ingest("domains", delivered, contentType: "application/x-ndjson").status == .accepted)
                    #expect(try await secondCollector.ingest("domains", delivered, contentType: "application/x-ndjson").status == .accepted)
                    let json = try await processor.poll("/domains/shared.example") { $0["delivered"] as? Int == 1200 }
                    #expect(json["status"] as? String == "catch-all")
                }
                // The processor stopped gracefully and gave its leases up: the next one starts at once, from its cursor.
                try await withServer(log: storage, { $0.role = .processor; $0.leaseDuration = .seconds(30) }) { successor, _ in
                    #expect(try await secondCollector.ingest("domains", delivered, contentType: "application/x-ndjson").status == .accepted)
                    _ = try await successor.poll("/domains/shared.example", timeout: .seconds(10)) { $0["delivered"] as? Int == 1800 }
                    // A collector reports the backlog of processors running elsewhere, from the shared log.
                    let clock = ContinuousClock()
                    let deadline = clock.now + .seconds(10)
                    func domainsBacklogIsEmpty(_ metrics: String) -> Bool {
                        metrics.split(separator: "\n").contains {
                            $0.hasPrefix("eventflow_log_backlog_events{") && $0.contains(#"processor="domains""#) && $0.split(separator: " ").last.flatMap { Double($0) } == 0
                        }
                    }
                    var metrics = ""
                    while !domainsBacklogIsEmpty(metrics), clock.now < deadline {
                        try await Task.sleep(for: .milliseconds(200))
                        metrics = String(buffer: try await firstCollector.execute(uri: "/metrics", method: .get).body)
                    }
                    #expect(domainsBacklogIsEmpty(metrics))
                }
                let counted = try await firstCollector.execute(uri: "/domains/shared.example", method: .get).json
                #expect(counted["delivered"] as? Int == 1800)
            }
        }
    }

    /// Two processors split the four delivery partitions between them and deliver at once;
    /// when one stops, the other takes its partitions over. Every event arrives once.
    @Test func twoProcessorsShareTheDeliveryPartitionsAndOneTakesOverWhenTheOtherStops() async throws {
        let storage = try await TestStorage.postgres.make()
        try await withTarget { target in
            let processor: @Sendable (inout ServerConfiguration) -> Void = {
                $0.role = .processor
                $0.leaseDuration = .seconds(2)
                $0.delivery = delivery(to: target) { $0.timeout = .seconds(10) }
            }
            try await withServer(log: storage, { $0.role = .collector }) { _, collectorPort in
                try await withServer(log: storage, processor) { first, _ in
                    #expect(try await first.waitForPartitionsHeld(4))
                    try await ingestEvents(port: collectorPort, prefix: "alone", count: 400)
                    try await target.waitForUnique(400)
                    try await withServer(log: storage, processor) { second, _ in
                        #expect(try await first.waitForPartitionsHeld(2))
                        #expect(try await second.waitForPartitionsHeld(2))
                        try await ingestEvents(port: collectorPort, prefix: "shared", count: 2_000)
                        try await target.waitForUnique(2_400)
                        let firstDelivered = metricValue(try await first.metricsText(), "eventflow_delivered_events_total") ?? 0
                        let secondDelivered = metricValue(try await second.metricsText(), "eventflow_delivered_events_total") ?? 0
                        #expect(secondDelivered > 0, "the second processor delivered nothing")
                        #expect(firstDelivered + secondDelivered == 2_400)
                    }
                    // The second stopped gracefully, left the group and gave its partitions up.
                    #expect(try await first.waitForPartitionsHeld(4))
                    try await ingestEvents(port: collectorPort, prefix: "again", count: 400)
                    try await target.waitForUnique(2_800)
                }
            }
            #expect(try await target.summary()["duplicates"] == 0)
        }
    }
}

extension TestClientProtocol {
    func metricsText() async throws -> String {
        String(buffer: try await execute(uri: "/metrics", method: .get).body)
    }

    /// Waits until this processor delivers `count` partitions; false after 20 s without.
    func waitForPartitionsHeld(_ count: Int) async throws -> Bool {
        try await pollMetric("eventflow_delivery_partitions_held") { $0 == Double(count) } == Double(count)
    }
}

@Suite struct StorageSettingsTests {
    @Test func aURLAloneMeansPostgresAndPostgresNeedsAURL() throws {
        var configuration = ServerConfiguration()
        try StorageSettings(engine: nil, postgresURL: "postgres://app@db:5433/events", leaseDuration: "2s", keyPrefix: "--").apply(to: &configuration)
        #expect(configuration.storage == .postgres(PostgresURL(host: "db", port: 5433, username: "app", database: "events")))
        #expect(configuration.leaseDuration == .seconds(2))
        var plain = ServerConfiguration()
        #expect(throws: ConfigError.self) { try StorageSettings(engine: "postgres", postgresURL: nil, leaseDuration: nil, keyPrefix: "--").apply(to: &plain) }
        #expect(throws: ConfigError.self) { try StorageSettings(engine: "mysql", postgresURL: nil, leaseDuration: nil, keyPrefix: "storage.").apply(to: &plain) }
        #expect(throws: ConfigError.self) { try StorageSettings(engine: nil, postgresURL: nil, leaseDuration: "0s", keyPrefix: "--").apply(to: &plain) }
        #expect(throws: ConfigError.self) { try StorageSettings.role("leader", key: "--role") }
        #expect(try StorageSettings.role("collector", key: "--role") == .collector)
    }
}
