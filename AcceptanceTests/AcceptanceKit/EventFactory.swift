import EventflowCore
public import NIOCore

/// Writes the events of a request as NDJSON: deterministic per event index, so a re-sent
/// request carries the same ids and fields.
public struct EventFactory: Sendable {
    public let runID: String
    let lateFraction: Double
    let lateMaxDelaySeconds: Double
    /// How far into the past frames' event times are moved: a run's frames fall into
    /// windows of their own, away from the present, where the system's other traffic is.
    let frameTimeShiftSeconds: Int
    /// Filler making frames about 2 KB, as the unique-users workload's are.
    private let frameFiller = String(repeating: "f", count: 1_900)

    public init(runID: String, lateFraction: Double, lateMaxDelaySeconds: Double, frameTimeShiftSeconds: Int = 0) {
        self.runID = runID
        self.lateFraction = lateFraction
        self.lateMaxDelaySeconds = lateMaxDelaySeconds
        self.frameTimeShiftSeconds = frameTimeShiftSeconds
    }

    /// The id of event `index`: `<run>-<index>`.
    public func id(_ index: Int) -> String { "\(runID)-\(index)" }

    /// The event index of an id this run made, nil for any other id.
    public func index(of id: Substring) -> Int? {
        guard id.hasPrefix(runID), id.dropFirst(runID.count).first == "-" else { return nil }
        return Int(id.dropFirst(runID.count + 1))
    }

    /// About how many bytes `count` events of `stream` take as NDJSON, to size a buffer once.
    public func bodyBytes(stream: String, count: Int) -> Int {
        count * (stream == "frames" ? 2_100 : 200)
    }

    /// Writes the NDJSON body of `count` events of `stream` from `first`, stamped with `nowSeconds`.
    public func writeBody(stream: String, first: Int, count: Int, nowSeconds: Double, into body: inout ByteBuffer) {
        for index in first..<(first + count) {
            body.writeString(event(stream: stream, index: index, nowSeconds: nowSeconds))
            body.writeStaticString("\n")
        }
    }

    func event(stream: String, index: Int, nowSeconds: Double) -> String {
        let id = self.id(index)
        switch content(stream: stream, index: index, nowSeconds: nowSeconds) {
        case .event(let user):
            return #"{"id":"\#(id)","name":"load","timestamp":\#(Int(nowSeconds)),"body":{"user":"u\#(user)","n":\#(index)}}"#
        case .frame(let uid, let ts):
            return #"{"id":"\#(id)","uid":"\#(uid)","ts":\#(ts),"data":{"uid":1,"ts":"nested","filler":"\#(frameFiller)"}}"#
        case .account(let account, let type, let tokens, let callbackTimeMs, let version):
            return #"{"id":"\#(accountID(account))","accountType":"\#(type)","tokens":\#(tokens),"callbackTimeMs":\#(callbackTimeMs),"version":\#(version),"data":{"event":"\#(id)"}}"#
        case .domain(let domain, let type):
            return #"{"id":"\#(id)","domain":"\#(domain)","type":"\#(type)"}"#
        case .log(let service, let severity, let milliseconds):
            return #"{"id":"\#(id)","service_name":"\#(service)","payload":"request handled in \#(milliseconds) ms","severity":"\#(severity)","timestamp":\#(Int(nowSeconds))}"#
        case .other:
            return #"{"id":"\#(id)"}"#
        }
    }

    /// The id of account number `account` in this run (a thousand accounts, many versions each).
    public func accountID(_ account: Int) -> String { "acct-\(runID)-\(account)" }

    /// What event `index` of `stream` says, drawn from its own seed: the body and the
    /// processors' oracles both read it from here. Accounts, domains and services are
    /// named after the run, so runs against one long-lived system do not mix.
    public func content(stream: String, index: Int, nowSeconds: Double) -> GeneratedEvent {
        var random = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9 &+ 17)
        switch stream {
        case "events":
            return .event(user: Int(random.next() % 100_000))
        case "frames":
            let late = random.unit() < lateFraction ? Int(random.unit() * lateMaxDelaySeconds) : 0
            let uid = String(random.next() % 50_000 + 0x1_0000_0000_0000, radix: 16).padding(toLength: 19, withPad: "0", startingAt: 0)
            return .frame(uid: uid, ts: Int(nowSeconds) - frameTimeShiftSeconds - late)
        case "accounts":
            let account = Int(random.next() % 1_000)
            return .account(
                account: account, type: "type\(account % 5)", tokens: Int(random.next() % 1_000), callbackTimeMs: Int(random.next() % 5_000), version: index)
        case "domains":
            let type = random.unit() < 0.05 ? "bounced" : "delivered"
            return .domain(name: "d\(random.next() % 10_000).\(runID).example.com", type: type)
        case "logs":
            let severity = Self.severities[Int(random.next() % UInt64(Self.severities.count))]
            return .log(service: "svc-\(runID)-\(random.next() % 20)", severity: severity, milliseconds: Int(random.next() % 500))
        default:
            return .other
        }
    }

    private static let severities = ["debug", "info", "info", "info", "warn", "error", "fatal"]
}

/// The fields of one generated event that its processor acts on.
public enum GeneratedEvent: Sendable, Equatable {
    case event(user: Int)
    /// `ts` in unix seconds.
    case frame(uid: String, ts: Int)
    case account(account: Int, type: String, tokens: Int, callbackTimeMs: Int, version: Int)
    case domain(name: String, type: String)
    case log(service: String, severity: String, milliseconds: Int)
    case other
}
