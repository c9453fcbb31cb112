import AcceptanceKitFuzzTargets
import EventflowFuzzTargets
import Foundation
import Testing

/// Replays the fuzz targets' seed corpus and every crash `make fuzz` kept
/// (`Fuzz/Corpus/<target>`, `Fuzz/Regressions/<target>`): a fixed finding stays fixed.
@Suite struct FuzzRegressionTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz")

    static func inputs(_ target: String) throws -> [Data] {
        try ["Corpus", "Regressions"].flatMap { folder in
            let directory = fuzz.appendingPathComponent(folder).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return try names.filter { !$0.hasPrefix(".") }.sorted().map { try Data(contentsOf: directory.appendingPathComponent($0)) }
        }
    }

    @Test func ingestParserInputsKeepTheirInvariants() throws {
        let inputs = try Self.inputs("ingest-parser")
        #expect(inputs.count >= 7)
        for input in inputs { input.withUnsafeBytes { IngestParserFuzzTarget.run($0) } }
    }

    @Test func textParserInputsKeepTheirInvariants() throws {
        let inputs = try Self.inputs("text-parsers")
        #expect(inputs.count >= 10)
        for input in inputs { input.withUnsafeBytes { TextParsersFuzzTarget.run($0) } }
    }

    @Test func profileParserInputsKeepTheirInvariants() throws {
        let inputs = try Self.inputs("profile-parser")
        #expect(inputs.count >= 8)
        for input in inputs { input.withUnsafeBytes { ProfileParserFuzzTarget.run($0) } }
    }
}
