import EventflowServer
import EventflowTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct IngestAPITests {
    struct BadRequest: Sendable, CustomTestStringConvertible {
        var name: String
        var stream: String
        var body: [UInt8]
        var contentType: String? = "application/json"
        var status: UInt
        var index: Int?
        var field: String?
        var testDescription: String { name }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(name: "wrong type", stream: "frames", body: Array(#"[{"uid":"a","ts":1},{"uid":2,"ts":1}]"#.utf8), status: 400, index: 1, field: "uid"),
        BadRequest(name: "missing field", stream: "accounts", body: Array(#"{"id":"a","accountType":"m","tokens":1,"callbackTimeMs":1}"#.utf8), status: 400, index: 0, field: "version"),
        BadRequest(name: "invalid UTF-8", stream: "frames", body: Array(#"{"uid":""#.utf8) + [0xFF] + Array(#"","ts":1}"#.utf8), status: 400, index: 0),
        BadRequest(name: "malformed JSON", stream: "frames", body: Array(#"{"uid":"a","ts":1},{"uid":"b","ts":2}"#.utf8), status: 400),
        BadRequest(name: "truncated NDJSON line", stream: "frames", body: Array("{\"uid\":\"a\",\"ts\":1}\n{\"uid\":\"b\",".utf8), contentType: "application/x-ndjson", status: 400, index: 1),
        BadRequest(name: "number out of range", stream: "accounts", body: Array(#"{"id":"a","accountType":"m","tokens":1e999,"callbackTimeMs":1,"version":1}"#.utf8), status: 400, index: 0, field: "tokens"),
        BadRequest(name: "integer overflow", stream: "accounts", body: Array(#"{"id":"a","accountType":"m","tokens":1,"callbackTimeMs":1,"version":18446744073709551616}"#.utf8), status: 400, index: 0, field: "version"),
        BadRequest(name: "empty body", stream: "events", body: [], status: 400),
        BadRequest(name: "empty batch", stream: "events", body: Array("[]".utf8), status: 400),
        BadRequest(name: "unknown stream", stream: "nope", body: Array(#"{"a":1}"#.utf8), status: 404),
        BadRequest(name: "unsupported content type", stream: "events", body: Array(#"{"id":"e","name":"n","timestamp":1}"#.utf8), contentType: "text/plain", status: 415),
    ]

    @Test(arguments: badRequests)
    func rejectsBadInputNamingTheProblemAndStoresNothing(_ bad: BadRequest) async throws {
        try await withServer { client, _ in
            var headers: HTTPFields = [:]
            if let contentType = bad.contentType { headers[.contentType] = contentType }
            let response = try await client.execute(
                uri: "/v1/streams/\(bad.stream)/events", method: .post, headers: headers, body: ByteBuffer(bytes: bad.body))
            #expect(response.status.code == Int(bad.status))
            #expect(response.headers[.contentType] == "application/json")
            let json = response.json
            #expect((json["error"] as? String)?.isEmpty == false)
            #expect(json["index"] as? Int == bad.index)
            #expect(json["field"] as? String == bad.field)
            #expect(try await client.headOffsets().values.allSatisfy { $0 == 0 })
            let good = try await client.ingest("frames", #"{"uid":"a","ts":1}"#)
            #expect(good.status == .accepted)
        }
    }

    @Test func acceptsAnObjectAnArrayAndNDJSONAndAnswersWithOffsets() async throws {
        try await withServer { client, _ in
            let one = try await client.ingest("events", #"{"id":"e1","name":"signup","timestamp":1763900000}"#)
            #expect(one.status == .accepted)
            #expect(one.json["accepted"] as? Int == 1)
            let array = try await client.ingest("events", #"[{"id":"e2","name":"a","timestamp":1},{"id":"e3","name":"b","timestamp":"2026-01-01T00:00:00Z"}]"#)
            #expect(array.json["first_offset"] as? Int == 1)
            #expect(array.json["last_offset"] as? Int == 2)
            let ndjson = try await client.ingest("frames", "{\"uid\":\"a\",\"ts\":1}\n{\"uid\":\"b\",\"ts\":2}\n", contentType: "application/x-ndjson")
            #expect(ndjson.json["accepted"] as? Int == 2)
            let untyped = try await client.ingest("frames", #"{"uid":"c","ts":3}"#, contentType: nil)
            #expect(untyped.status == .accepted)
            // Media types are case-insensitive and may carry parameters and spaces.
            let spelled = try await client.ingest("frames", "{\"uid\":\"d\",\"ts\":4}\n", contentType: " Application/X-NDJSON ; charset=utf-8")
            #expect(spelled.json["accepted"] as? Int == 1)
            #expect(try await client.ingest("frames", #"{"uid":"e","ts":5}"#, contentType: "application/vnd.acme+json").status == .accepted)
            let read = try await client.execute(uri: "/v1/streams/events/events?from=1&limit=5", method: .get)
            let events = read.json["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["id"] as? String } == ["e2", "e3"])
            #expect((events.first?["event"] as? [String: Any])?["name"] as? String == "a")
            #expect(read.json["next_offset"] as? Int == 3)
        }
    }

    @Test func seedRoutesFeedTheirStreams() async throws {
        try await withServer { client, _ in
            let event = try await client.execute(
                uri: "/events", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"id":"s1","name":"n","body":"b","timestamp":1}"#))
            #expect(event.status == .accepted)
            #expect(try await client.execute(uri: "/events/Example.com/delivered", method: .put).status == .accepted)
            #expect(try await client.execute(uri: "/events/example.com/bounced", method: .put).status == .accepted)
            let invalid = try await client.execute(uri: "/events/bad_domain!/bounced", method: .put)
            #expect(invalid.status == .badRequest)
            #expect(invalid.json["field"] as? String == "domain")
            #expect(try await client.execute(uri: "/events/example.com/opened", method: .put).status == .notFound)
            #expect(try await client.headOffsets() == ["events": 1, "domains": 2, "frames": 0, "accounts": 0, "logs": 0])
            let read = try await client.execute(uri: "/v1/streams/domains/events", method: .get)
            let stored = (read.json["events"] as? [[String: Any]])?.first?["event"] as? [String: Any]
            #expect(stored?["domain"] as? String == "Example.com")
            #expect(stored?["type"] as? String == "delivered")
        }
    }

    @Test func rejectsBodiesOverTheLimit() async throws {
        try await withServer({ $0.maxBodyBytes = 1_024 }) { client, _ in
            let filler = String(repeating: "x", count: 2_000)
            let response = try await client.ingest("events", #"{"id":"e","name":"\#(filler)","timestamp":1}"#)
            #expect(response.status == .contentTooLarge)
            #expect((response.json["error"] as? String)?.contains("1024") == true)
            #expect(try await client.headOffsets()["events"] == 0)
            #expect(try await client.ingest("events", #"{"id":"e","name":"n","timestamp":1}"#).status == .accepted)
        }
    }

    @Test func answersWrongMethodsWith405() async throws {
        try await withServer { client, _ in
            let response = try await client.execute(uri: "/events", method: .get)
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == "POST")
            #expect(try await client.execute(uri: "/v1/streams/events/events", method: .delete).status == .methodNotAllowed)
            #expect(try await client.execute(uri: "/metrics", method: .post).status == .methodNotAllowed)
        }
    }

    @Test func requiresTheAPIKeyWhenOneIsConfigured() async throws {
        try await withServer({ $0.apiKey = "s3cret" }) { client, _ in
            let body = #"{"uid":"a","ts":1}"#
            let missing = try await client.ingest("frames", body)
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await client.ingest("frames", body, headers: [HTTPField.Name("X-Api-Key")!: "wrong"]).status == .unauthorized)
            #expect(try await client.ingest("frames", body, headers: [HTTPField.Name("X-Api-Key")!: "s3cret"]).status == .accepted)
            #expect(try await client.ingest("frames", body, headers: [.authorization: "Bearer s3cret"]).status == .accepted)
            #expect(try await client.execute(uri: "/events/example.com/bounced", method: .put).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/streams", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .ok)
            #expect(try await client.headOffsets(headers: [.authorization: "Bearer s3cret"])["frames"] == 2)
        }
    }

    @Test func customStreamsFromTheConfigFile() async throws {
        let path = temporaryDirectory() + "/eventflow.yaml"
        try """
        group_commit: { max_pending_events: 5000 }
        streams:
          clicks:
            key: user
            fields:
              user: { type: string, max_bytes: 16 }
              page: { type: any, required: false }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration()
        try ConfigFile.load(path: path).apply(to: &configuration)
        #expect(configuration.groupCommit.maxPendingEvents == 5_000)
        let streams = configuration.streams
        try await withServer({ $0.streams = streams }) { client, _ in
            #expect(try await client.ingest("clicks", #"{"user":"u1","page":"/"}"#).status == .accepted)
            let tooLong = try await client.ingest("clicks", #"{"user":"abcdefghijklmnopq"}"#)
            #expect(tooLong.json["field"] as? String == "user")
        }
    }

    @Test func configErrorsNameTheProblem() throws {
        let path = temporaryDirectory() + "/bad.yaml"
        try "streams:\n  Bad-Name:\n    fields: { a: { type: string } }\n".write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration()
        #expect {
            try ConfigFile.load(path: path).apply(to: &configuration)
        } throws: { error in
            String(describing: error).contains("stream name 'Bad-Name' is invalid")
        }
        try "streams:\n  clicks:\n    fields: { a: { type: strin } }\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try ConfigFile.load(path: path).apply(to: &configuration)
        } throws: { error in
            String(describing: error).contains("unknown type 'strin'")
        }
    }
}
