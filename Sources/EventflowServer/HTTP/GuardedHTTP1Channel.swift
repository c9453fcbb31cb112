import EventflowCore
import HTTPTypes
public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTPTypes

/// Hummingbird's HTTP/1 channel with the collector's connection limits: idle, header and
/// body timeouts (``ConnectionDeadlines``), and `Connection: close` after an answer that
/// went out before its request was read.
///
/// Two handlers share the work: ``BytesReadNotifier`` sits before the HTTP decoder and
/// tells of every read (a slowloris head never becomes an HTTP part), and
/// ``ConnectionDeadlineHandler`` sits after it, sees requests and answers, and closes the
/// connection when a deadline passes.
public struct GuardedHTTP1Channel: ServerChildChannel {
    public typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel

    /// Each connection gets its own ``ConnectionDeadlineHandler`` (the handlers are an autoclosure).
    init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits) {
        http1 = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [ConnectionDeadlineHandler(limits: limits)]))
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(BytesReadNotifier(), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger)
    }

    public func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the collector's connection limits.
    static func guardedHTTP1(limits: ConnectionLimits) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, limits: limits) }
    }
}

/// Told by ``BytesReadNotifier`` that the client sent bytes.
struct ConnectionBytesRead: Sendable {}

/// Passes reads on unchanged, announcing each with a ``ConnectionBytesRead`` event first.
final class BytesReadNotifier: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(ConnectionBytesRead())
        context.fireChannelRead(data)
    }
}

/// Enforces ``ConnectionDeadlines`` on one connection with one timer, moved only when the
/// deadline comes earlier than the one it is set for (a later one is found when it fires).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var deadlines: ConnectionDeadlines
    private var timer: (at: ContinuousClock.Instant, task: Scheduled<Void>)?
    /// Set once an early answer went out: the rest of its request is dropped, then the connection closed.
    private var discardingRestOfRequest = false

    init(limits: ConnectionLimits) {
        deadlines = ConnectionDeadlines(limits: limits, now: .now)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadlines = ConnectionDeadlines(limits: deadlines.limits, now: .now)
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ConnectionBytesRead {
            deadlines.bytesRead(now: .now)
            arm(context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head: deadlines.headRead(now: .now)
        case .body: break
        case .end: deadlines.endRead(now: .now)
        }
        if discardingRestOfRequest {
            // The answer is out; what the client still sends is read (so that it can finish
            // writing and read the answer) and dropped.
            if case .end = part { context.close(promise: nil) }
            return
        }
        arm(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            if deadlines.responseHeadWritten() {
                head.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
        case .body:
            break
        case .end:
            if deadlines.responseEndWritten(now: .now) {
                context.writeAndFlush(data, promise: promise)
                if deadlines.requestsComplete {
                    context.close(promise: nil)
                } else {
                    discardingRestOfRequest = true
                    arm(context)
                }
                return
            }
            context.write(data, promise: promise)
            arm(context)
            return
        }
        context.write(data, promise: promise)
    }

    /// Sets the timer for the deadline in force, unless one at least as early is set.
    private func arm(_ context: ChannelHandlerContext) {
        guard let deadline = deadlines.deadline else { return }
        if let timer {
            guard deadline.at < timer.at else { return }
            timer.task.cancel()
        }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(in: .nanoseconds(max(0, (deadline.at - .now).nanoseconds))) {
            loopBound.value.handler.timerFired(loopBound.value.context)
        }
        timer = (deadline.at, task)
    }

    private func timerFired(_ context: ChannelHandlerContext) {
        timer = nil
        guard let deadline = deadlines.deadline else { return }
        if deadline.at <= .now {
            context.close(promise: nil)
        } else {
            arm(context)
        }
    }
}
