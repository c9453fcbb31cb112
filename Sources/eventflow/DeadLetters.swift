import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `eventflow dead-letters list|replay`: the dead-letter API from the shell.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List or replay the events the target rejected permanently.",
        subcommands: [List.self, Replay.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "Base URL of the Eventflow server.")
        var url = "http://127.0.0.1:8080"

        @Option(name: .customLong("api-key"), help: "API key, when the server requires one (default: $EVENTFLOW_API_KEY).")
        var apiKey: String?

        @Option(help: "Stream whose dead letters to use.")
        var stream = "events"

        func send(_ path: String, method: HTTPMethod, body: Data? = nil) async throws -> String {
            var request = HTTPClientRequest(url: url.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)
            request.method = method
            if let key = apiKey ?? ProcessInfo.processInfo.environment["EVENTFLOW_API_KEY"] { request.headers.add(name: "X-Api-Key", value: key) }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(data: body))
            }
            let response: HTTPClientResponse
            do {
                response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            } catch {
                throw ValidationError("could not reach \(url): \(error). Is 'eventflow serve' running there?")
            }
            let text = String(buffer: try await response.body.collect(upTo: 256 << 20))
            guard response.status.code < 300 else { throw ValidationError("the server answered \(response.status.code): \(text)") }
            return text
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the dead letters as JSON.")

        @OptionGroup var connection: Connection

        @Option(help: "Most dead letters to print, 1 to 1000 (the server's page size); with more, see --from.")
        var limit = 100

        @Option(help: "Print the letters from this event offset on (the next_offset of the page before) (default: 0).")
        var from: Int64 = 0

        func validate() throws {
            guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
            guard from >= 0 else { throw ValidationError("--from must be a non-negative offset") }
        }

        func run() async throws {
            print(try await connection.send("/v1/dead-letters?stream=\(connection.stream)&limit=\(limit)&from=\(from)", method: .GET))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put dead letters back on their stream for another delivery.")

        @OptionGroup var connection: Connection

        @Option(name: .customLong("id"), help: "Replay only the event with this id; repeatable (default: all).")
        var ids: [String] = []

        func run() async throws {
            var body: [String: any Sendable] = ["stream": connection.stream]
            if !ids.isEmpty { body["ids"] = ids }
            print(try await connection.send("/v1/dead-letters/replay", method: .POST, body: try JSONSerialization.data(withJSONObject: body)))
        }
    }
}
