import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain answer: status and body.
struct RawResponse: Sendable {
    var status: Int
    var body: ByteBuffer
}

/// One keep-alive HTTP/1.1 connection straight on SwiftNIO, one request at a time: the
/// generator's sending path, with far less per-request work than a pooled client (the
/// generator must keep its own lag well under a millisecond at 20,000 requests/s).
final class KeepAliveConnection: Sendable {
    private let channel: any Channel
    let host: String

    private init(channel: any Channel, host: String) {
        self.channel = channel
        self.host = host
    }

    static func connect(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> KeepAliveConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
            .connect(host: host, port: port).get()
        return KeepAliveConnection(channel: channel, host: "\(host):\(port)")
    }

    var isActive: Bool { channel.isActive }

    /// Sends one request and waits for the whole answer, or fails after `timeout` (the connection is closed then).
    func send(method: HTTPMethod, path: String, contentType: String, body: ByteBuffer, timeout: TimeAmount) async throws -> RawResponse {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Type", value: contentType)
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        let promise = channel.eventLoop.makePromise(of: RawResponse.self)
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(ChannelError.connectTimeout(timeout))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(Exchange(head: head, body: body, promise: promise)).cascadeFailure(to: promise)
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
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
