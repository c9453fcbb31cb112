/// What each processor's output must show after a load, derived only from what the client
/// sent: exact where every copy got an answer; where some copies got none (a timeout, a
/// broken connection), they may or may not be in the log, so the figure must lie between
/// the two. Frames are checked per one-minute window (the system's default).
public struct ProcessorOracle: Sendable {
    /// Inclusive bounds of a figure.
    public struct Bounds: Sendable, Equatable, CustomStringConvertible {
        public var low = 0
        public var high = 0

        public init(low: Int = 0, high: Int = 0) {
            self.low = low
            self.high = high
        }

        public func contains(_ value: Int) -> Bool { value >= low && value <= high }
        public var description: String { low == high ? "\(low)" : "\(low)…\(high)" }

        mutating func add(_ event: ClientLedger.SentEvent) {
            low += event.acknowledged
            high += event.acknowledged + event.unknown
        }
    }

    public struct DomainCounts: Sendable, Equatable {
        public var delivered = Bounds()
        public var bounced = Bounds()
    }

    /// The versions of one account that may be stored: the newest acknowledged one at least.
    public struct AccountVersions: Sendable, Equatable {
        public var newestAcknowledged = -1
        /// Tokens of every version that may be in the log, by version.
        public var tokensByVersion: [Int: Int] = [:]
    }

    public struct FrameWindow: Sendable, Equatable {
        /// Users of frames acknowledged at least once.
        public var certainUsers: Set<String> = []
        /// Users of frames that may be in the log.
        public var possibleUsers: Set<String> = []
        /// Copies stored in the window: counted or dropped as late, one or the other.
        public var copies = Bounds()
    }

    public static let windowSeconds = 60

    public private(set) var logCounts: [String: [String: Bounds]] = [:]
    public private(set) var domains: [String: DomainCounts] = [:]
    public private(set) var accounts: [String: AccountVersions] = [:]
    public private(set) var frameWindows: [Int: FrameWindow] = [:]
    /// The newest event time of an acknowledged frame: windows ending by then have closed.
    public private(set) var newestFrameSeconds = Int.min

    /// The streams whose processors keep state the oracle can check.
    static let streams = ["frames", "accounts", "domains", "logs"]

    /// Builds the expectations from the ledger's events of each stream with a state processor.
    public init(ledger: ClientLedger, factory: EventFactory, startedAtSeconds: Double) {
        for stream in Self.streams {
            for event in ledger.sentEvents(of: stream) where event.acknowledged + event.unknown > 0 {
                let content = factory.content(stream: stream, index: event.index, nowSeconds: startedAtSeconds + event.eventTime)
                switch content {
                case .log(let service, let severity, _):
                    logCounts[service, default: [:]][severity, default: Bounds()].add(event)
                case .domain(let name, let type):
                    if type == "bounced" { domains[name, default: DomainCounts()].bounced.add(event) } else { domains[name, default: DomainCounts()].delivered.add(event) }
                case .account(let account, _, let tokens, _, let version):
                    let id = factory.accountID(account)
                    accounts[id, default: AccountVersions()].tokensByVersion[version] = tokens
                    if event.acknowledged > 0 { accounts[id]!.newestAcknowledged = max(accounts[id]!.newestAcknowledged, version) }
                case .frame(let uid, let ts):
                    let start = ts / Self.windowSeconds * Self.windowSeconds
                    if event.acknowledged > 0 {
                        frameWindows[start, default: FrameWindow()].certainUsers.insert(uid)
                        newestFrameSeconds = max(newestFrameSeconds, ts)
                    }
                    frameWindows[start, default: FrameWindow()].possibleUsers.insert(uid)
                    frameWindows[start, default: FrameWindow()].copies.add(event)
                case .event, .other:
                    break
                }
            }
        }
    }

    /// How many figures the outputs are checked on.
    public var checks: Int {
        logCounts.values.reduce(0) { $0 + $1.count } + domains.count * 3 + accounts.count * 2 + frameWindows.count * 2
    }

    /// One window of `GET /v1/unique-users`.
    public struct WindowResult: Sendable, Equatable {
        public var start: Int
        public var users: Int
        public var frames: Int
        public var lateDropped: Int

        public init(start: Int, users: Int, frames: Int, lateDropped: Int) {
            self.start = start
            self.users = users
            self.frames = frames
            self.lateDropped = lateDropped
        }
    }

    /// Each stored severity count of a service must match what was sent.
    public func logMismatches(service: String, counts: [String: Int]) -> [String] {
        (logCounts[service] ?? [:]).sorted { $0.key < $1.key }.compactMap { severity, bounds in
            bounds.contains(counts[severity] ?? 0) ? nil : "logs \(service) \(severity): \(counts[severity] ?? 0), expected \(bounds)"
        }
    }

    /// A domain's counts must match what was sent, and its status must follow from them.
    public func domainMismatches(domain: String, delivered: Int, bounced: Int, status: String) -> [String] {
        guard let want = domains[domain] else { return ["domain \(domain) was never sent"] }
        var mismatches: [String] = []
        if !want.delivered.contains(delivered) || !want.bounced.contains(bounced) {
            mismatches.append("domain \(domain): delivered \(delivered), bounced \(bounced); expected \(want.delivered), \(want.bounced)")
        }
        let rule = bounced > 0 ? "not catch-all" : delivered > 1000 ? "catch-all" : "unknown"
        if status != rule { mismatches.append("domain \(domain): status \(status) with \(delivered) delivered and \(bounced) bounced, expected \(rule)") }
        return mismatches
    }

    /// An account must hold its newest version that may be in the log (never older than the
    /// newest acknowledged one), with that version's tokens.
    public func accountMismatches(id: String, version: Int?, tokens: Int?) -> [String] {
        guard let want = accounts[id] else { return ["account \(id) was never sent"] }
        guard let version, let tokens else {
            return want.newestAcknowledged >= 0 ? ["account \(id) is missing; version \(want.newestAcknowledged) was acknowledged"] : []
        }
        if version < want.newestAcknowledged { return ["account \(id): version \(version), but \(want.newestAcknowledged) was acknowledged"] }
        guard let sentTokens = want.tokensByVersion[version] else { return ["account \(id): version \(version) was never sent"] }
        return sentTokens == tokens ? [] : ["account \(id) version \(version): tokens \(tokens), sent \(sentTokens)"]
    }

    /// Every closed window (event time has passed its end) must be reported with all its
    /// stored copies counted or dropped as late; a window that dropped none counts exactly the
    /// users sent into it. A window still open may not be reported yet.
    public func frameMismatches(_ results: [WindowResult]) -> [String] {
        let reported = Dictionary(results.map { ($0.start, $0) }, uniquingKeysWith: { first, _ in first })
        var mismatches: [String] = []
        for (start, want) in frameWindows.sorted(by: { $0.key < $1.key }) {
            guard let result = reported[start] else {
                if start + Self.windowSeconds <= newestFrameSeconds { mismatches.append("window \(start): closed but not reported, \(want.copies) frames sent") }
                continue
            }
            if !want.copies.contains(result.frames + result.lateDropped) {
                mismatches.append("window \(start): \(result.frames) frames + \(result.lateDropped) late, expected \(want.copies) in all")
            }
            let users = Bounds(low: result.lateDropped == 0 ? want.certainUsers.count : 0, high: want.possibleUsers.count)
            if !users.contains(result.users) { mismatches.append("window \(start): \(result.users) users, expected \(users)") }
        }
        return mismatches
    }
}
