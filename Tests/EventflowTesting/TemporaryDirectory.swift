import Foundation
public import Logging

/// A new, empty directory under the system's temporary directory.
public func temporaryDirectory() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("eventflow-test-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A logger that shows warnings and errors only, for servers and logs under test.
public var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return logger
}
