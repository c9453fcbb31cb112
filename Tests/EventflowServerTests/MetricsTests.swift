import EventflowServer
import EventflowTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct MetricsTests {
    static let requiredNames = [
        "eventflow_ingest_requests_total", "eventflow_ingest_events_total", "eventflow_ingest_request_duration_seconds_bucket",
        "eventflow_log_append_duration_seconds_count", "eventflow_ingest_peak_events_per_second",
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds",
    ]

    @Test func exposesTheDesignedNamesAndPassesPromtool() async throws {
        try await withServer { client, _ in
            try await client.ingest("events", #"{"id":"e","name":"n","timestamp":1}"#)
            try await client.ingest("events", #"{"id":"e"}"#)
            try await client.ingest("nope", "{}")
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: response.body)
            for name in Self.requiredNames {
                #expect(text.contains("\n\(name)") || text.hasPrefix(name), "missing \(name)")
            }
            #expect(metricValue(text, #"eventflow_ingest_requests_total{stream="events",code="202"}"#) == 1)
            #expect(metricValue(text, #"eventflow_ingest_requests_total{stream="events",code="400"}"#) == 1)
            #expect(metricValue(text, #"eventflow_ingest_requests_total{stream="unknown",code="404"}"#) == 1)
            #expect((metricValue(text, "process_resident_memory_bytes") ?? 0) > 1_000_000)
            // The pending limits, for a test of a deployed system to know whether it can flood past them.
            #expect(metricValue(text, #"eventflow_log_configured{setting="max_pending_events"}"#) == 200_000)

            let (status, output) = try promtoolCheckMetrics(text)
            #expect(status == 0, "promtool check metrics: \(output)")
            #expect(output.isEmpty, "promtool check metrics reported: \(output)")
        }
    }
}

/// Delivery publishes its settings, so that a test of a deployed system can hold the target
/// and the ordering to them.
@Suite struct DeliverySettingsMetricTests {
    @Test func deliveryPublishesItsSettings() async throws {
        let delivery = DeliveryConfiguration(targetURL: "http://127.0.0.1:9/deliver", targetRate: 300, targetBurst: 30, batchSize: 5, orderingWindow: 2)
        try await withServer({ $0.delivery = delivery }) { client, _ in
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let settings = ["rate_limit_requests_per_second": 300.0, "burst_requests": 30, "batch_events": 5, "ordering_window_seconds": 2]
            for (setting, value) in settings {
                #expect(metricValue(text, #"eventflow_delivery_configured{setting="\#(setting)"}"#) == value, "\(setting)")
            }
        }
        try await withServer({ $0.delivery = DeliveryConfiguration(targetURL: "http://127.0.0.1:9/deliver") }) { client, _ in
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metricValue(text, #"eventflow_delivery_configured{setting="rate_limit_requests_per_second"}"#) == 0)
            #expect(metricValue(text, #"eventflow_delivery_configured{setting="ordering_window_seconds"}"#) == 60)
        }
    }
}

/// Runs `promtool check metrics` on `text`; `make test` installs promtool (Debian package `prometheus`).
func promtoolCheckMetrics(_ text: String) throws -> (Int32, String) {
    let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw PromtoolMissing()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = ["check", "metrics"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
}

struct PromtoolMissing: Error, CustomStringConvertible {
    var description: String { "promtool not found: run 'make test', which installs it (Debian package 'prometheus')" }
}
