import Foundation
import Yams

extension LoadProfile {
    /// The largest profile file read (a profile is a few hundred bytes).
    public static let maxFileBytes = 1 << 20

    /// Reads a profile from a YAML file and checks it; errors say which key is wrong.
    public static func load(path: String) throws -> LoadProfile {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > maxFileBytes {
            throw ProfileError("profile \(path) is \(size) bytes; a profile is at most \(maxFileBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ProfileError("cannot read profile \(path)") }
        let document: Document
        do {
            document = try YAMLDecoder().decode(Document.self, from: data)
        } catch {
            throw ProfileError("profile \(path) is not valid: \(error)")
        }
        return try LoadProfile(document, source: path)
    }
}
