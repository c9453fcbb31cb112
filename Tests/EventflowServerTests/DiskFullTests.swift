import AcceptanceKit
import EventflowServer
import EventflowTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing


/// The embedded log on a disk that fills up: 503 and unready, never a false 202, ready again
/// by itself when space returns, and every 202 still there after a restart.
@Suite(.enabled(if: SmallDisk.available, "\(SmallDisk.unavailableReason); the size-cap tests cover the rest"))
struct DiskFullTests {
    @Test func aFullDiskGives503sThenRecoversByItselfAndKeepsEvery202() async throws {
        try await SmallDisk.with(megabytes: 6) { mount in
            let data = mount + "/data"
            let ballast = mount + "/ballast"
            try Data(count: 1 << 20).write(to: URL(fileURLWithPath: ballast))
            let acknowledged = Acknowledged()
            // No processor runs, so no commit but the clients' could find out that space returned.
            let collectorOnly: @Sendable (inout ServerConfiguration) -> Void = { configuration in
                configuration.dataDirectory = data
                configuration.uniqueUsers = nil
                configuration.accounts = nil
                configuration.domains = false
                configuration.logStore = nil
            }
            try await withServer(collectorOnly) { client, _ in
                let payload = String(repeating: "p", count: 1_900)
                var refused = 0
                for batch in 0..<400 where refused < 3 {
                    let body = (0..<20).map { #"{"service_name":"disk","payload":"\#(payload)","severity":"info","timestamp":1,"id":"b\#(batch)-\#($0)"}"# }
                    let response = try await client.ingest("logs", body.joined(separator: "\n"), contentType: "application/x-ndjson")
                    if response.status == .accepted {
                        acknowledged.add(batch)
                    } else {
                        #expect(response.status == .serviceUnavailable, "a full disk must answer 503, got \(response.status)")
                        refused += 1
                    }
                }
                #expect(refused == 3, "the disk never filled")
                #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
                try FileManager.default.removeItem(atPath: ballast)
                // No client request from here: readiness must come back by itself.
                var ready = false
                let deadline = ContinuousClock.now + .seconds(15)
                while !ready, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    ready = try await client.execute(uri: "/readyz", method: .get).status == .ok
                }
                #expect(ready, "/readyz did not recover within 15 s of space returning")
            }
            try await withServer(collectorOnly) { client, _ in
                let stored = try await client.headOffsets()["logs"] ?? -1
                #expect(stored == acknowledged.count * 20, "\(acknowledged.count) requests of 20 were acknowledged; the log holds \(stored)")
            }
        }
    }
}

/// Batches a test saw acknowledged.
final class Acknowledged: Sendable {
    private let batches = Mutex<[Int]>([])
    func add(_ batch: Int) { batches.withLock { $0.append(batch) } }
    var count: Int { batches.withLock { $0.count } }
}
