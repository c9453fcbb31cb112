/// When a client connection must next have made progress, from what it has read and
/// written: the rules of ``ConnectionLimits`` as a pure state machine, driven by
/// ``GuardedHTTP1Channel``.
///
/// - Idle between requests: closed after `idleTimeout` without a request.
/// - Bytes of a request arrived but not its whole head: closed `headerTimeout` after the
///   first of them (a slowloris client trickling headers).
/// - A head read but not its body: closed `bodyTimeout` after the head.
/// - The server working on a request: no deadline (the commit takes what it takes).
///
/// An answer written before the request's body has arrived (401, 413, 415) carries
/// `Connection: close`; the rest of the body is then read and dropped (within the body
/// timeout) and the connection closed once it is in, so that a client that writes its whole
/// body before reading gets the answer instead of waiting on a server that stopped reading.
struct ConnectionDeadlines: Sendable {
    typealias Instant = ContinuousClock.Instant

    /// Which limit a deadline enforces (for the log line when it passes).
    enum Limit: String, Sendable, Equatable {
        case idle = "idle timeout"
        case header = "header timeout"
        case body = "body timeout"
    }

    let limits: ConnectionLimits
    private var headsRead = 0
    private var endsRead = 0
    private var responsesEnded = 0
    private var lastHeadAt: Instant
    private var lastActivityAt: Instant
    /// When the first byte of a request whose head has not yet arrived was read.
    private var waitingHeadSince: Instant?
    /// True once an answer went out before its request was read in full.
    private(set) var closesAfterResponse = false

    init(limits: ConnectionLimits, now: Instant) {
        self.limits = limits
        lastHeadAt = now
        lastActivityAt = now
    }

    /// The deadline in force and the limit it enforces; nil while the server works on a request.
    var deadline: (at: Instant, limit: Limit)? {
        if headsRead > endsRead { return (lastHeadAt + limits.bodyTimeout, .body) }
        if responsesEnded < headsRead { return nil }
        if let since = waitingHeadSince { return (since + limits.headerTimeout, .header) }
        return (lastActivityAt + limits.idleTimeout, .idle)
    }

    /// Bytes arrived from the client.
    mutating func bytesRead(now: Instant) {
        if headsRead == endsRead, waitingHeadSince == nil { waitingHeadSince = now }
    }

    /// A request's head was decoded.
    mutating func headRead(now: Instant) {
        headsRead += 1
        lastHeadAt = now
        waitingHeadSince = nil
    }

    /// A request's end was decoded: its body is in.
    mutating func endRead(now: Instant) {
        endsRead += 1
        lastActivityAt = now
    }

    /// An answer's head is being written; true when it must carry `Connection: close`
    /// because its request's body is still coming.
    mutating func responseHeadWritten() -> Bool {
        if headsRead > endsRead { closesAfterResponse = true }
        return closesAfterResponse
    }

    /// An answer was written in full; true when the connection is to be closed after it.
    mutating func responseEndWritten(now: Instant) -> Bool {
        responsesEnded += 1
        lastActivityAt = now
        return closesAfterResponse
    }

    /// Whether every request read so far has its body in.
    var requestsComplete: Bool { headsRead == endsRead }
}
