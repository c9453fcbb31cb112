import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain answer: status and body.
struct RawResponse: Sendable {
    var status: Int
    var body: ByteBuffer
}

/// One keep-alive HTTP/1.1 connection of the load generator, driven entirely on its
/// channel's event loop: it takes the next planned request, arms a timer for its intended
/// time, writes it, and when the answer comes hands it on and takes the next. No task
/// switch, thread hop, promise or timeout timer is made per answered request, which is
/// what lets one process offer tens of thousands of requests a second with its own lag
/// well under a millisecond.
///
/// Created, used and finished on `eventLoop` only; its closures reach it through
/// `assumeIsolated()` or `NIOLoopBound`, which check that.
final class KeepAliveConnection {
    /// What the generator supplies: the next request, its encoding, and where the outcome goes.
    struct Driver: Sendable {
        var next: @Sendable () -> PlannedRequest?
        /// The whole request (line, headers and body) in one buffer, made before its time comes.
        var request: @Sendable (PlannedRequest) -> ByteBuffer
        /// The request, how late it left, its latency from the intended time, and the answer (nil: none).
        var completed: @Sendable (PlannedRequest, _ lag: TimeAmount, _ latency: TimeAmount, RawResponse?) -> Void
    }

    /// The request waiting for its answer.
    private struct InFlight {
        var request: PlannedRequest
        var intended: NIODeadline
        var lag: TimeAmount
        /// When it counts as unanswered.
        var deadline: NIODeadline
    }

    private let eventLoop: any EventLoop
    private let host: String
    private let port: Int
    private let timeout: TimeAmount
    private let start: NIODeadline
    private let driver: Driver
    private let finished: EventLoopPromise<Void>
    private var channel: (any Channel)?
    /// Counts the connections made, so that a late close of an earlier one is not taken
    /// for the answer to the request now in flight.
    private var generation = 0
    private var inFlight: InFlight?
    /// At most one timer per connection, re-armed for the request then in flight when it fires.
    private var timeoutCheck: Scheduled<Void>?

    private init(eventLoop: any EventLoop, host: String, port: Int, timeout: TimeAmount, start: NIODeadline, driver: Driver, finished: EventLoopPromise<Void>) {
        self.eventLoop = eventLoop
        self.host = host
        self.port = port
        self.timeout = timeout
        self.start = start
        self.driver = driver
        self.finished = finished
    }

    /// Sends the driver's requests, one at a time at their intended times (seconds after
    /// `start`), until it has none left; the future completes then.
    static func run(
        on eventLoop: any EventLoop, host: String, port: Int, timeout: TimeAmount, start: NIODeadline, driver: Driver
    ) -> EventLoopFuture<Void> {
        let finished = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            KeepAliveConnection(eventLoop: eventLoop, host: host, port: port, timeout: timeout, start: start, driver: driver, finished: finished).takeNext()
        }
        return finished.futureResult
    }

    private func takeNext() {
        guard let request = driver.next() else {
            timeoutCheck?.cancel()
            channel?.close(promise: nil)
            finished.succeed()
            return
        }
        let intended = start + .nanoseconds(Int64(request.intendedTime * 1e9))
        // Built before its time comes, so that at its time only the write is left to do.
        let message = driver.request(request)
        if intended > .now() {
            eventLoop.assumeIsolated().scheduleTask(deadline: intended) { self.send(request, message, intended: intended) }
        } else {
            send(request, message, intended: intended)
        }
    }

    private func send(_ request: PlannedRequest, _ message: ByteBuffer, intended: NIODeadline) {
        let lag = NIODeadline.now() - intended
        if let channel, channel.isActive {
            write(request, message, intended: intended, lag: lag, on: channel)
            return
        }
        connect().assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                self.channel = channel
                self.write(request, message, intended: intended, lag: lag, on: channel)
            case .failure:
                self.driver.completed(request, lag, .now() - intended, nil)
                self.eventLoop.assumeIsolated().execute { self.takeNext() }
            }
        }
    }

    private func write(_ request: PlannedRequest, _ message: ByteBuffer, intended: NIODeadline, lag: TimeAmount, on channel: any Channel) {
        let deadline = NIODeadline.now() + timeout
        // Set before the write: a write that fails closes the channel, and its close answers this request.
        inFlight = InFlight(request: request, intended: intended, lag: lag, deadline: deadline)
        if timeoutCheck == nil { armTimeoutCheck(at: deadline) }
        channel.writeAndFlush(message, promise: nil)
    }

    /// The answer to the request in flight on connection `generation` (nil: it closed first).
    private func answered(_ generation: Int, _ response: RawResponse?) {
        guard generation == self.generation, let flight = inFlight else { return }
        inFlight = nil
        driver.completed(flight.request, flight.lag, .now() - flight.intended, response)
        // A close answers at once, possibly inside the write that failed: go round the loop, not deeper.
        if response == nil { eventLoop.assumeIsolated().execute { self.takeNext() } } else { takeNext() }
    }

    private func armTimeoutCheck(at deadline: NIODeadline) {
        timeoutCheck = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.checkTimeout() }
    }

    private func checkTimeout() {
        timeoutCheck = nil
        guard let flight = inFlight else { return }
        guard flight.deadline <= .now() else {
            armTimeoutCheck(at: flight.deadline)
            return
        }
        // Its connection is given up: whatever it says later belongs to no request.
        generation += 1
        channel?.close(promise: nil)
        channel = nil
        inFlight = nil
        driver.completed(flight.request, flight.lag, .now() - flight.intended, nil)
        takeNext()
    }

    private func connect() -> EventLoopFuture<any Channel> {
        generation += 1
        let generation = generation
        let connection = NIOLoopBound(self, eventLoop: eventLoop)
        return ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)
                    let answers = AnswerHandler(decoder: decoder) { response in connection.value.answered(generation, response) }
                    try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(ResponseDecoder(http: decoder)), answers])
                }
            }
            .connect(host: host, port: port)
    }
}

/// NIO's HTTP response decoder, fed with what was sent by ``AnswerHandler`` rather than by
/// watching the pipeline's writes: so the requests, encoded ahead of their time, go to the
/// socket as plain bytes, with no request encoder or per-request boxing on the way.
struct ResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    /// Shared with the ``AnswerHandler`` of the same channel, on its event loop only.
    let http: HTTPResponseDecoder

    func decoderAdded(context: ChannelHandlerContext) { http.decoderAdded(context: context) }

    func decoderRemoved(context: ChannelHandlerContext) { http.decoderRemoved(context: context) }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try http.decode(context: context, buffer: &buffer)
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try http.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}

/// Collects each answer and hands it on; a connection that closes while a request waits
/// hands on nil.
final class AnswerHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What the response decoder must know of each request to frame its answer: its method.
    private static let sentHead = HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/"))

    private let decoder: HTTPResponseDecoder
    private let answered: (RawResponse?) -> Void
    private var awaiting = false
    private var status = 0
    private var keepAlive = true
    private var body = ByteBuffer()

    init(decoder: HTTPResponseDecoder, answered: @escaping (RawResponse?) -> Void) {
        self.decoder = decoder
        self.answered = answered
    }

    /// Writes one whole encoded request.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        awaiting = true
        decoder.write(data: Self.sentHead)
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            keepAlive = head.isKeepAlive
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            // Answered before the close, so the close does not answer it again; handed on
            // after it, so a next request taken at once goes out on a new connection.
            awaiting = false
            if !keepAlive { context.close(promise: nil) }
            answered(RawResponse(status: status, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if awaiting {
            awaiting = false
            answered(nil)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
