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
/// switch or thread hop happens per request, which is what lets one process offer tens of
/// thousands of requests a second with its own lag well under a millisecond.
///
/// Created, used and finished on `eventLoop` only; its closures reach it through
/// `assumeIsolated()`, which checks that.
final class KeepAliveConnection {
    /// What the generator supplies: the next request, its body, and where the outcome goes.
    struct Driver: Sendable {
        var next: @Sendable () -> PlannedRequest?
        var request: @Sendable (PlannedRequest) -> (head: HTTPRequestHead, body: ByteBuffer)
        /// The request, how late it left, its latency from the intended time, and the answer (nil: none).
        var completed: @Sendable (PlannedRequest, _ lag: TimeAmount, _ latency: TimeAmount, RawResponse?) -> Void
    }

    private let eventLoop: any EventLoop
    private let host: String
    private let port: Int
    private let timeout: TimeAmount
    private let start: NIODeadline
    private let driver: Driver
    private let finished: EventLoopPromise<Void>
    private var channel: (any Channel)?

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

    private func send(_ request: PlannedRequest, _ message: (head: HTTPRequestHead, body: ByteBuffer), intended: NIODeadline) {
        let lag = NIODeadline.now() - intended
        guard let channel, channel.isActive else {
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
            return
        }
        write(request, message, intended: intended, lag: lag, on: channel)
    }

    private func write(
        _ request: PlannedRequest, _ message: (head: HTTPRequestHead, body: ByteBuffer), intended: NIODeadline, lag: TimeAmount, on channel: any Channel
    ) {
        let (head, body) = message
        let answer = eventLoop.makePromise(of: RawResponse.self)
        let timeout = self.timeout
        let timer = eventLoop.scheduleTask(in: timeout) {
            answer.fail(ChannelError.connectTimeout(timeout))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(Exchange(head: head, body: body, promise: answer)).cascadeFailure(to: answer)
        answer.futureResult.assumeIsolated().whenComplete { result in
            timer.cancel()
            self.driver.completed(request, lag, .now() - intended, try? result.get())
            // A write that failed at once completes here at once: go round the loop, not deeper.
            if case .failure = result { self.eventLoop.assumeIsolated().execute { self.takeNext() } } else { self.takeNext() }
        }
    }

    private func connect() -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
            .connect(host: host, port: port)
    }
}

/// A request with the promise its answer completes.
struct Exchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer
    var promise: EventLoopPromise<RawResponse>
}

/// Writes an ``Exchange``'s request and completes its promise with the answer.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Exchange
    typealias OutboundOut = HTTPClientRequestPart

    private var pending: EventLoopPromise<RawResponse>?
    private var status = 0
    private var keepAlive = true
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        pending = exchange.promise
        body.clear()
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(exchange.body))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            keepAlive = head.isKeepAlive
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            // Taken first: completing it may write the next request at once, which sets
            // `pending` anew; a server that ends the connection after this answer gets it
            // closed before that, so the next request goes out on a new one.
            let answered = takePending()
            if !keepAlive { context.close(promise: nil) }
            answered?.succeed(RawResponse(status: status, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        takePending()?.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        takePending()?.fail(error)
        context.close(promise: nil)
    }

    private func takePending() -> EventLoopPromise<RawResponse>? {
        defer { pending = nil }
        return pending
    }
}
