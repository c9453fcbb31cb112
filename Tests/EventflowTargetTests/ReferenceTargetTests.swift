import AsyncHTTPClient
import EventflowTarget
import EventflowTesting
import Foundation
import NIOCore
import Testing

/// The reference target's limits: the one a profile sets is `/deliver`'s; callbacks have their own.
@Suite struct ReferenceTargetTests {
    func post(_ target: TargetProbe, _ path: String, id: String) async throws -> UInt {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(target.port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"id":"\#(id)","version":1}"#))
        return try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code
    }

    @Test func callbacksDoNotSpendTheDeliveryLimit() async throws {
        try await withTarget({ $0.rateLimit = .tokenBucket(rate: 0.01, burst: 2) }) { target in
            for index in 0..<10 { #expect(try await post(target, "/callbacks", id: "c\(index)") == 200) }
            #expect(try await post(target, "/deliver", id: "d0") == 200)
            #expect(try await post(target, "/deliver", id: "d1") == 200)
            #expect(try await post(target, "/deliver", id: "d2") == 429)
            let metrics = try await target.get("/metrics")
            #expect(metricValue(metrics, #"eventflow_target_throttled_total{route="deliver"}"#) == 1)
            #expect(metricValue(metrics, #"eventflow_target_throttled_total{route="callbacks"}"#) == 0)
        }
    }

    @Test func callbacksCanHaveALimitOfTheirOwn() async throws {
        try await withTarget({ $0.callbackRateLimit = .tokenBucket(rate: 0.01, burst: 1) }) { target in
            #expect(try await post(target, "/callbacks", id: "c0") == 200)
            #expect(try await post(target, "/callbacks", id: "c1") == 429)
            for index in 0..<5 { #expect(try await post(target, "/deliver", id: "d\(index)") == 200) }
            let callbackSummary = try await target.get("/callbacks/ledger/summary")
            #expect(callbackSummary.contains("\"throttled\":1"), "\(callbackSummary)")
            #expect(try await target.summary()["throttled"] == 0)
        }
    }

    func put(_ target: TargetProbe, _ path: String, _ body: String, key: String? = nil) async throws -> (status: UInt, text: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(target.port)\(path)")
        request.method = .PUT
        if let key { request.headers.add(name: "X-Api-Key", value: key) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 16)))
    }

    /// A test of a deployed system sets the target it did not start to the system's limit.
    @Test func theDeliveryLimitCanBeSetWhileItRuns() async throws {
        try await withTarget { target in
            #expect(try await target.get("/admin/rate-limit") == #"{"rate":null}"#)
            let set = try await put(target, "/admin/rate-limit", #"{"rate":0.01,"burst":2}"#)
            #expect(set.status == 200 && set.text == #"{"rate":0.01,"burst":2.0}"#, "\(set)")
            #expect(try await post(target, "/deliver", id: "d0") == 200)
            #expect(try await post(target, "/deliver", id: "d1") == 200)
            #expect(try await post(target, "/deliver", id: "d2") == 429)
            #expect(try await post(target, "/callbacks", id: "c0") == 200)
            for (body, field) in [
                (#"{"rate":0}"#, "rate"), (#"{"rate":"fast"}"#, "rate"), (#"{"burst":3}"#, "rate"), (#"{"rate":10,"burst":0.5}"#, "burst"),
                (#"{"rate":10,"burst":"x"}"#, "burst"), (#"{"rate":1e300}"#, "rate"), ("not json", "rate"),
            ] {
                let refused = try await put(target, "/admin/rate-limit", body)
                #expect(refused.status == 400 && refused.text.contains(#""field":"\#(field)""#), "\(body): \(refused)")
            }
            #expect(try await target.get("/admin/rate-limit") == #"{"rate":0.01,"burst":2.0}"#)
            #expect(try await put(target, "/admin/rate-limit", #"{"rate":null}"#).status == 200)
            #expect(try await post(target, "/deliver", id: "d3") == 200)
        }
    }

    @Test func faultsOutOfRangeAreRefused() async throws {
        try await withTarget { target in
            for faults in [#"{"error_rate":2}"#, #"{"latency_ms":1e300}"#, #"{"timeout_hold_ms":-1}"#] {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(target.port)/admin/faults")
                request.method = .PUT
                request.body = .bytes(ByteBuffer(string: faults))
                let status = try await HTTPClient.shared.execute(request, timeout: .seconds(5)).status.code
                #expect(status == 400, "\(faults)")
            }
            let faults = try await target.get("/admin/faults")
            #expect(faults.contains("\"error_rate\":0"), "\(faults)")
        }
    }
}

@Suite struct ReferenceTargetAdminTests {
    @Test func faultsChangeOnlyWithTheAdminKey() async throws {
        try await withTarget({ $0.adminKey = "admin" }) { target in
            func put(key: String?) async throws -> UInt {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(target.port)/admin/faults")
                request.method = .PUT
                if let key { request.headers.add(name: "X-Api-Key", value: key) }
                request.body = .bytes(ByteBuffer(string: #"{"error_rate":1}"#))
                return try await HTTPClient.shared.execute(request, timeout: .seconds(5)).status.code
            }
            #expect(try await put(key: nil) == 401)
            #expect(try await put(key: "admin-and-more") == 401)
            let refused = try await target.get("/admin/faults")
            #expect(refused.contains("admin key"), "\(refused)")
            #expect(try await put(key: "admin") == 200)
            var limit = HTTPClientRequest(url: "http://127.0.0.1:\(target.port)/admin/rate-limit")
            limit.method = .PUT
            limit.body = .bytes(ByteBuffer(string: #"{"rate":null}"#))
            #expect(try await HTTPClient.shared.execute(limit, timeout: .seconds(5)).status.code == 401)
        }
    }
}
