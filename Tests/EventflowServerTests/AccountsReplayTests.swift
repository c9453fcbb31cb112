import AcceptanceKit
import EventflowTesting
import Foundation
import Testing

/// `eventflow accounts replay` on the real input of the original challenge, checked
/// against results derived here from the rules.
@Suite struct AccountsReplayTests {
    static let dataset = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/account-updates.json")

    struct Expected {
        var newest: [String: Int] = [:]
        var top: [String] = []
        var accepted = 0
        var rejected = 0
    }

    /// Highest version per id and, among newest versions, the most tokens per type (smallest id on a tie).
    static func expected() throws -> Expected {
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: dataset)) as? [[String: Any]] ?? []
        var expected = Expected()
        var newestRecord: [String: [String: Any]] = [:]
        for record in records {
            guard let id = record["id"] as? String, let version = record["version"] as? Int else {
                expected.rejected += 1
                continue
            }
            expected.accepted += 1
            if version > expected.newest[id] ?? -1 {
                expected.newest[id] = version
                newestRecord[id] = record
            }
        }
        let ranked = newestRecord.map { id, record in
            (type: record["accountType"] as? String ?? "", id: id, tokens: record["tokens"] as? Int ?? 0, version: record["version"] as? Int ?? 0)
        }.sorted { ($1.tokens, $0.id) < ($0.tokens, $1.id) }
        var seen: Set<String> = []
        expected.top = ranked.filter { seen.insert($0.type).inserted }.sorted { $0.type < $1.type }.map {
            "top        accountType=\($0.type) id=\($0.id) tokens=\($0.tokens) version=\($0.version)"
        }
        return expected
    }

    @Test func replaysTheChallengeInputToTheHighestVersionsAndTopAccounts() async throws {
        let expected = try Self.expected()
        #expect(expected.rejected == 5 && expected.accepted == 119, "the dataset as documented in its README")

        let process = Process()
        process.executableURL = SpawnedServer.defaultBinary
        process.arguments = ["accounts", "replay", Self.dataset.path, "--speed", "10", "--seed", "42"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")

        let lines = text.split(separator: "\n").map(String.init)
        func pairs(_ prefix: String) -> [String] {
            lines.filter { $0.hasPrefix(prefix) }.compactMap { line in
                let fields = Dictionary(
                    line.split(separator: " ").compactMap { part -> (String, String)? in
                        let pair = part.split(separator: "=", maxSplits: 1)
                        return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
                    }, uniquingKeysWith: { first, _ in first })
                guard let id = fields["id"], let version = fields["version"] else { return nil }
                return "\(id):\(version)"
            }
        }
        let indexed = pairs("indexed"), ignored = pairs("ignored"), fired = Set(pairs("fired")), cancelled = Set(pairs("cancelled"))
        #expect(lines.filter { $0.hasPrefix("rejected") }.count == expected.rejected)
        #expect(lines.filter { $0.hasPrefix("rejected") }.allSatisfy { $0.contains("'version'") })
        #expect(indexed.count + ignored.count == expected.accepted)
        for (id, version) in expected.newest {
            #expect(indexed.contains("\(id):\(version)"), "newest version of \(id) indexed")
            #expect(fired.contains("\(id):\(version)"), "callback of the newest version of \(id) fired")
        }
        #expect(fired.isDisjoint(with: cancelled))
        #expect(fired.count + cancelled.count == indexed.count, "every indexed version's callback either fired or was cancelled")
        #expect(lines.filter { $0.hasPrefix("top ") } == expected.top)
    }
}
