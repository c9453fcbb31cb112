import AcceptanceKit
import EventflowCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The load generator's connections against loopback servers that misbehave on purpose:
/// every planned request ends with an outcome, and the load goes on to the end.
@Suite struct LoadGeneratorConnectionTests {
    @Test func requestsToAServerThatNeverAnswersEndUnansweredAndTheLoadGoesOn() async throws {
        let server = try await LoopbackServer.start { _ in }
        let (generator, planned) = try makeGenerator(port: server.port, requestsPerSecond: 20, timeout: .milliseconds(300))
        let load = await generator.run { _ in }
        try await server.stop()

        #expect(planned > 10 && load.requests == planned)
        #expect(load.unanswered == planned && load.acknowledgedEvents == 0)
        let events = generator.ledger.events(of: "events")
        #expect(events.outcomes.count == planned && events.outcomes.allSatisfy { $0 == .unknown })
        // A request that timed out gives up its connection: the next one opens another.
        #expect(server.connections > 2)
    }

    @Test func anAnswerThatClosesItsConnectionCountsAndTheNextRequestGoesOutOnANewOne() async throws {
        let offsets = Counter()
        let server = try await LoopbackServer.start { pipeline in
            try pipeline.configureHTTPServerPipeline()
            try pipeline.addHandler(AnswerThenClose(offsets: offsets))
        }
        let (generator, planned) = try makeGenerator(port: server.port, requestsPerSecond: 40, timeout: .seconds(5))
        let load = await generator.run { _ in }
        try await server.stop()

        #expect(load.requests == planned && load.unanswered == 0 && load.statusCounts == [202: planned])
        let events = generator.ledger.events(of: "events")
        #expect(events.outcomes.count == planned && events.outcomes.allSatisfy { $0 == .acknowledged })
        // Every answer's `first_offset` is read back into the ledger.
        #expect(Set(events.offsets) == Set((1...Int64(planned)).map { $0 }))
        #expect(server.connections == planned)
    }

    /// A generator of single-event requests at `requestsPerSecond` for 1 s over two
    /// connections, and the number of requests it plans.
    private func makeGenerator(port: Int, requestsPerSecond: Double, timeout: TimeAmount) throws -> (LoadGenerator, planned: Int) {
        let path = LoadProfileTests.profileDirectory.deletingLastPathComponent().appendingPathComponent("scripts/profiles/generator-20k.yaml").path
        var profile = try LoadProfile.load(path: path)
        profile.connections = 2
        let schedule = profile.schedule(peak: requestsPerSecond, durationScale: 0.1)
        var planner = RequestPlanner(profile: profile, schedule: schedule, seed: 1)
        var planned = 0
        while planner.next() != nil { planned += 1 }
        let generator = LoadGenerator(
            configuration: .init(baseURL: "http://127.0.0.1:\(port)", connections: profile.connections, requestTimeout: timeout), profile: profile,
            schedule: schedule, seed: 1, runID: "connections\(port)")
        return (generator, planned)
    }
}

/// A number shared across event loops.
private final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds one and returns the new value.
    func next() -> Int { value.add(1, ordering: .relaxed).newValue }

    var current: Int { value.load(ordering: .relaxed) }
}

/// A TCP server on a free loopback port whose connections get the handlers `configure` adds.
private struct LoopbackServer {
    let channel: any Channel
    let accepted: Counter

    var port: Int { channel.localAddress?.port ?? 0 }
    /// Connections accepted so far.
    var connections: Int { accepted.current }

    static func start(configure: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void) async throws -> LoopbackServer {
        let accepted = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                _ = accepted.next()
                return channel.eventLoop.makeCompletedFuture { try configure(channel.pipeline.syncOperations) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return LoopbackServer(channel: channel, accepted: accepted)
    }

    func stop() async throws {
        try await channel.close()
    }
}

/// Answers each request with 202, a `first_offset` counting up from 1, and
/// `Connection: close`, then closes the connection.
private final class AnswerThenClose: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let offsets: Counter

    init(offsets: Counter) {
        self.offsets = offsets
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let offset = offsets.next()
        let body = #"{"accepted":1,"first_offset":\#(offset),"last_offset":\#(offset)}"#
        var head = HTTPResponseHead(version: .http1_1, status: .accepted)
        head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
