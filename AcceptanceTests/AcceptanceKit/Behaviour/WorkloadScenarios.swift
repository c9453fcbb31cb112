import EventflowCore
import Foundation
import Synchronization

/// Frames years old and out of order, with late ones, counted per minute: users, frames
/// and late drops per window equal what the scenario derives from the order it sent.
struct UniqueUsersScenario: BehaviourScenario {
    let name = "unique-users"
    let summary = "seeded frames (out of order, late, nested uid/ts) counted exactly per 1 m window across a SIGKILL and restart"
    let needsRestart = true
    static let latenessMs: Int64 = 5_000

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var random = SplitMix64(seed: 51)
        let base = context.run.pastEpochSeconds * 1000
        var frames: [(uid: String, ms: Int64)] = []
        for index in 0..<30_000 {
            let uid = String(format: "%03x%016llx", Int(random.next() % 4096), random.next() % 3000)
            var ms = base + Int64(index) * 20 - Int64(random.next() % 3000)
            if random.next() % 100 == 0 { ms -= 20_000 }
            frames.append((uid, ms))
        }
        let expected = FrameExpectations(frames: frames, latenessMs: Self.latenessMs)
        let lines = frames.map { #"{"uid":"\#($0.uid)","ts":\#($0.ms),"meta":{"uid":1,"ts":"x","uid":2},"pad":"\#(String(repeating: "p", count: 200))"}"# }
        let (from, to) = (expected.inOrder.keys.min() ?? 0, (expected.inOrder.keys.max() ?? 0) + 60)
        let late = expected.inOrder.values.reduce(0) { $0 + $1.late }
        let spawned = context.binary != nil
        let watermarkWasPast = Mutex(false)
        var result = try await context.runWorkload(
            stream: "frames", processor: "unique-users", lines: lines,
            description: "30,000 frames over \(expected.inOrder.count) windows from \(from) (unix seconds, this run's hour), \(late) of them past the lateness"
        ) { api, _ in
            let results = try await api.object("/v1/unique-users?window=1m&from=\(from)&to=\(to)")["results"] as? [[String: Any]] ?? []
            let found = Dictionary(
                results.map {
                    (Int64($0["start"] as? Int ?? -1),
                     FrameExpectations.Window(users: $0["users"] as? Int ?? -1, frames: $0["frames"] as? Int ?? -1, late: $0["late_dropped"] as? Int ?? -1))
                },
                uniquingKeysWith: { first, _ in first })
            let inOrder = expected.mismatches(found, against: expected.inOrder)
            if inOrder.isEmpty || spawned { return inOrder }
            // A system given by URL whose other traffic is newer than this run's hour has its
            // watermark past it: then every frame of the run is late, and counted as such.
            let newer = try await api.object("/v1/unique-users?window=1m&from=\(to)&limit=1")["results"] as? [Any] ?? []
            guard !newer.isEmpty, expected.mismatches(found, against: expected.allLate).isEmpty else { return inOrder }
            watermarkWasPast.withLock { $0 = true }
            return []
        }
        if watermarkWasPast.withLock({ $0 }) {
            result.evidence.append("the system's watermark was already past this run's hour (its other frames are newer): every frame was counted as late, as it must be; the lateness rule within the run was not exercised")
        }
        return result
    }
}

/// What each one-minute window must show after frames sent in a given order: as the order
/// makes it (a frame counts unless its window ended at least the lateness before the newest
/// frame so far), or, on a system whose watermark was already past them, all late.
struct FrameExpectations {
    struct Window: Equatable {
        var users: Int
        var frames: Int
        var late: Int
    }

    let inOrder: [Int64: (users: Set<String>, frames: Int, late: Int)]
    /// Every frame of each window dropped as late.
    var allLate: [Int64: (users: Set<String>, frames: Int, late: Int)] {
        inOrder.mapValues { ([], 0, $0.frames + $0.late) }
    }

    init(frames: [(uid: String, ms: Int64)], latenessMs: Int64) {
        var inOrder: [Int64: (users: Set<String>, frames: Int, late: Int)] = [:]
        var newest = Int64.min
        for frame in frames {
            newest = max(newest, frame.ms)
            let start = frame.ms / 60_000 * 60
            if (start + 60) * 1000 <= newest - latenessMs {
                inOrder[start, default: ([], 0, 0)].late += 1
            } else {
                inOrder[start, default: ([], 0, 0)].users.insert(frame.uid)
                inOrder[start, default: ([], 0, 0)].frames += 1
            }
        }
        self.inOrder = inOrder
    }

    /// The windows of `found` (by start) that differ from `expected`, and the count when that differs.
    func mismatches(_ found: [Int64: Window], against expected: [Int64: (users: Set<String>, frames: Int, late: Int)]) -> [String] {
        var mismatches: [String] = []
        if found.count != expected.count { mismatches.append("\(found.count) windows, expected \(expected.count)") }
        for (start, want) in expected.sorted(by: { $0.key < $1.key }) {
            let wanted = Window(users: want.users.count, frames: want.frames, late: want.late)
            let got = found[start] ?? Window(users: 0, frames: 0, late: 0)
            if got != wanted { mismatches.append("window \(start): users/frames/late \((got.users, got.frames, got.late)), expected \((wanted.users, wanted.frames, wanted.late))") }
        }
        return mismatches
    }
}

/// Shuffled and repeated versions of many accounts: the newest version of each is kept,
/// its callback fires (also when it was pending at the SIGKILL), and the top per type is right.
struct AccountsScenario: BehaviourScenario {
    let name = "accounts"
    let summary = "shuffled, duplicated versions of 300 accounts: newest versions kept, their callbacks fired across a SIGKILL, top per type right"
    let needsRestart = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var random = SplitMix64(seed: 52)
        let types = ["mint", "metadata", "escrow", "auction"]
        var updates: [(id: String, type: String, tokens: Int, version: Int, callbackMs: Int)] = []
        for account in 0..<300 {
            let id = "acct-\(context.run.tag)-\(account)"
            let type = types[Int(random.next() % UInt64(types.count))] + "-" + context.run.tag
            for version in 1...Int(1 + random.next() % 6) {
                let tokens = Int(random.next() % 100_000)
                let callbackMs = Int(random.next() % 4) == 0 ? 2_500 : Int(random.next() % 300)
                updates.append((id, type, tokens, version, callbackMs))
                if random.next() % 5 == 0 { updates.append((id, type, tokens, version, callbackMs)) }
            }
        }
        updates.shuffle(using: &random)
        var newest: [String: (type: String, tokens: Int, version: Int)] = [:]
        for update in updates where update.version > newest[update.id]?.version ?? 0 {
            newest[update.id] = (update.type, update.tokens, update.version)
        }
        var top: [String: (id: String, tokens: Int)] = [:]
        for (id, account) in newest {
            let best = top[account.type]
            if best == nil || account.tokens > best!.tokens || (account.tokens == best!.tokens && id < best!.id) {
                top[account.type] = (id, account.tokens)
            }
        }
        let lines = updates.map {
            #"{"id":"\#($0.id)","accountType":"\#($0.type)","tokens":\#($0.tokens),"callbackTimeMs":\#($0.callbackMs),"data":{"seq":\#($0.version)},"version":\#($0.version)}"#
        }
        let repeated = updates.count - Set(updates.map { "\($0.id):\($0.version)" }).count
        return try await context.runWorkload(
            stream: "accounts", processor: "accounts", lines: lines, batch: 50,
            description: "\(updates.count) updates of \(newest.count) accounts, shuffled, \(repeated) repeated"
        ) { api, system in
            let target = HTTPProbe(baseURL: system.targetURL ?? "")
            var fired: Set<String> = []
            try await target.forEachLine("/callbacks/ledger") { line in
                if let id = PerformanceRun.field(line, "id"), PerformanceRun.field(line, "first_delivered_at_ms") != nil { fired.insert(String(id)) }
            }
            var mismatches: [String] = []
            for (id, account) in newest.sorted(by: { $0.key < $1.key }) where !fired.contains("\(id):\(account.version)") {
                mismatches.append("callback of \(id) version \(account.version) not fired")
            }
            let sent = Set(updates.map { "\($0.id):\($0.version)" })
            for key in fired where key.hasPrefix("acct-\(context.run.tag)-") && !sent.contains(key) { mismatches.append("callback \(key) fired but never sent") }
            guard mismatches.isEmpty else { return mismatches }
            for (id, account) in newest {
                let stored = try await api.object("/v1/accounts/\(id)")
                if stored["version"] as? Int != account.version || stored["tokens"] as? Int != account.tokens || stored["callback"] as? String != "fired" {
                    mismatches.append("\(id): \(stored), expected version \(account.version) tokens \(account.tokens) callback fired")
                }
            }
            let served = try await api.object("/v1/accounts/top")["top"] as? [[String: Any]] ?? []
            let expectedTop = top.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.id)" }
            let servedTop = served.map { "\($0["accountType"] as? String ?? "")=\($0["id"] as? String ?? "")" }.filter { $0.contains("-\(context.run.tag)=") }
            if servedTop != expectedTop { mismatches.append("top \(servedTop), expected \(expectedTop)") }
            return mismatches
        }
    }
}

/// Deliveries and bounces over many domains, including the 1000/1001 boundary and mixed
/// case: every domain's status is what the counts sent make it.
struct DomainsScenario: BehaviourScenario {
    let name = "domains"
    let summary = "delivered/bounced events for 2,000 domains (1000 vs 1001 deliveries, bounces, mixed case): every status right across a SIGKILL"
    let needsRestart = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var random = SplitMix64(seed: 53)
        var counts: [String: (delivered: Int, bounced: Int)] = [:]
        var events: [(domain: String, type: String)] = []
        for index in 0..<2_000 {
            let domain = "d\(index).\(context.run.tag).example.org"
            let delivered: Int
            switch index {
            case 0..<3: delivered = 1_001
            case 3..<6: delivered = 1_000
            default: delivered = Int(random.next() % 20)
            }
            let bounced = index == 1 || (index >= 6 && random.next() % 4 == 0) ? 1 : 0
            counts[domain] = (delivered, bounced)
            events += Array(repeating: (domain, "delivered"), count: delivered) + Array(repeating: (domain, "bounced"), count: bounced)
        }
        events.shuffle(using: &random)
        let lines = events.enumerated().map { index, event in
            let domain = index % 3 == 0 ? event.domain.uppercased() : event.domain
            return #"{"domain":"\#(domain)","type":"\#(event.type)"}"#
        }
        let catchAll = counts.values.filter { $0.bounced == 0 && $0.delivered > 1000 }.count
        return try await context.runWorkload(
            stream: "domains", processor: "domains", lines: lines,
            description: "\(events.count) events over \(counts.count) domains (\(catchAll) catch-all), a third upper-cased"
        ) { api, _ in
            var mismatches: [String] = []
            for (domain, count) in counts.sorted(by: { $0.key < $1.key }) {
                let want = count.bounced > 0 ? "not catch-all" : count.delivered > 1000 ? "catch-all" : "unknown"
                let got = try await api.object("/domains/\(domain)")
                if got["status"] as? String != want || got["delivered"] as? Int != count.delivered {
                    mismatches.append("\(domain): \(got["status"] ?? "?") with \(got["delivered"] ?? "?") delivered, expected \(want) with \(count.delivered)")
                    if mismatches.count >= 5 { break }
                }
            }
            return mismatches
        }
    }
}

/// Log lines of many services and severities: the per-severity counts and the stored
/// lines agree with what was sent, once each, across a SIGKILL.
struct LogStoreScenario: BehaviourScenario {
    let name = "log-store"
    let summary = "20,000 log lines of 20 services: counts per severity and stored lines exact across a SIGKILL"
    let needsRestart = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var random = SplitMix64(seed: 54)
        let severities = ["debug", "info", "warn", "error", "fatal"]
        var expected: [String: [String: Int]] = [:]
        var lastPayload: [String: String] = [:]
        let lines = (0..<20_000).map { index -> String in
            let service = "svc-\(context.run.tag)-\(random.next() % 20)"
            let severity = severities[Int(random.next() % 5)]
            expected[service, default: [:]][severity, default: 0] += 1
            lastPayload[service] = "line \(index)"
            return #"{"service_name":"\#(service)","payload":"line \#(index)","severity":"\#(severity)","timestamp":\#(1_763_900_000 + index)}"#
        }

        return try await context.runWorkload(
            stream: "logs", processor: "log-store", lines: lines,
            description: "20,000 lines over \(expected.count) services, flushed by 5,000 or every second"
        ) { api, _ in
            var mismatches: [String] = []
            for (service, want) in expected.sorted(by: { $0.key < $1.key }) {
                let counts = try await api.object("/v1/logs/severity?service=\(service)")["counts"] as? [String: Int] ?? [:]
                let full = Dictionary(uniqueKeysWithValues: severities.map { ($0, want[$0] ?? 0) })
                if counts != full { mismatches.append("\(service): \(counts), expected \(full)") }
                let latest = try await api.object("/v1/logs?service=\(service)&limit=1")["logs"] as? [[String: Any]]
                if latest?.first?["payload"] as? String != lastPayload[service] {
                    mismatches.append("\(service): latest line \(latest?.first?["payload"] ?? "none"), expected \(lastPayload[service] ?? "")")
                }
            }
            return mismatches
        }
    }
}
