import EventflowServer
import EventflowTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `--retention`: what every processor has passed and is old enough goes; a read before the
/// first event kept answers 410 with where the stream starts now.
@Suite struct RetentionTests {
    @Test func theRetentionIsADurationNamedByItsKey() throws {
        let path = temporaryDirectory() + "/eventflow.yaml"
        var configuration = ServerConfiguration()
        try "storage: { retention: 7d }\n".write(toFile: path, atomically: true, encoding: .utf8)
        try ConfigFile.load(path: path).apply(to: &configuration)
        #expect(configuration.retention == .seconds(7 * 86_400))
        try "storage: { retention: forever }\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try ConfigFile.load(path: path).apply(to: &configuration) } throws: { "\($0)".hasPrefix("storage.retention") }
        #expect { try StorageSettings(engine: nil, postgresURL: nil, leaseDuration: nil, retention: "-1h", keyPrefix: "--").apply(to: &configuration) } throws: {
            "\($0)".hasPrefix("--retention")
        }
    }

    @Test(arguments: [TestStorage.sqlite, .postgres]) func processedEventsOfAgeGoAndReadsBeforeThemAnswer410(storage: TestStorage) async throws {
        try await withServer(storage: storage, { $0.retention = .zero }) { client, _ in
            // Two commits, two batches: the newest batch always stays.
            #expect(try await client.ingest("domains", #"{"domain":"a.example","type":"delivered"}"#).status == .accepted)
            #expect(try await client.ingest("domains", #"{"domain":"b.example","type":"delivered"}"#).status == .accepted)
            try await client.pollMetric(#"eventflow_log_deleted_events_total{stream="domains"}"#) { ($0 ?? 0) >= 1 }
            let gone = try await client.execute(uri: "/v1/streams/domains/events?from=0", method: .get)
            #expect(gone.status == .gone)
            let body = try JSONSerialization.jsonObject(with: Data(buffer: gone.body)) as? [String: Any]
            #expect(body?["first_retained_offset"] as? Int == 1)
            #expect(body?["field"] as? String == "from")
            let kept = try await client.execute(uri: "/v1/streams/domains/events?from=1", method: .get)
            #expect(kept.status == .ok)
            #expect(String(buffer: kept.body).contains("b.example"))
            // The processor had applied the deleted event.
            let domain = try await client.execute(uri: "/domains/a.example", method: .get)
            #expect(domain.status == .ok)
        }
    }

    /// Events of a stream no processor had a cursor on go once they are of age; a processor
    /// that starts later goes on from the first event kept and counts what it never saw.
    @Test func aProcessorStartingAfterDeletionGoesOnFromTheFirstEventKept() async throws {
        let directory = temporaryDirectory()
        try await withServer({
            $0.dataDirectory = directory
            $0.retention = .zero
            $0.domains = false
        }) { client, _ in
            for domain in ["a", "b", "c"] {
                #expect(try await client.ingest("domains", #"{"domain":"\#(domain).example","type":"delivered"}"#).status == .accepted)
            }
            try await client.pollMetric(#"eventflow_log_deleted_events_total{stream="domains"}"#) { ($0 ?? 0) >= 2 }
        }
        try await withServer({ $0.dataDirectory = directory }) { client, _ in
            try await client.pollMetric(#"eventflow_processor_deleted_unprocessed_events_total{processor="domains"}"#) { $0 == 2 }
            _ = try await client.poll("/domains/c.example") { $0["delivered"] as? Int == 1 }
            let deleted = try await client.execute(uri: "/domains/a.example", method: .get)
            #expect((try JSONSerialization.jsonObject(with: Data(buffer: deleted.body)) as? [String: Any])?["delivered"] as? Int == 0)
        }
    }

    /// The same for delivery: a partition started after its stream's oldest events went
    /// delivers from the first event kept.
    @Test func deliveryStartingAfterDeletionGoesOnFromTheFirstEventKept() async throws {
        let directory = temporaryDirectory()
        try await withServer({
            $0.dataDirectory = directory
            $0.retention = .zero
        }) { client, port in
            for batch in 0..<3 { try await ingestEvents(port: port, prefix: "gone\(batch)", count: 100) }
            try await client.pollMetric(#"eventflow_log_deleted_events_total{stream="events"}"#) { $0 == 200 }
        }
        try await withTarget { target in
            try await withServer({
                $0.dataDirectory = directory
                $0.retention = .zero
                $0.delivery = delivery(to: target)
            }) { client, port in
                try await client.pollMetric("eventflow_delivery_deleted_unprocessed_events_total") { $0 == 200 }
                try await target.waitForUnique(100)
                #expect(try await target.ledger().keys.allSatisfy { $0.hasPrefix("gone2-") })
            }
        }
    }
}
