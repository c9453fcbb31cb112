/// What one run of the suite names its data after, so that runs against one long-lived
/// system, and the traffic already there, do not mix: a tag in every id, account, domain
/// and service name the run sends, and an hour in the past from which its frames' event
/// times start, so that no other traffic falls into the windows it checks.
public struct RunIdentity: Sendable, Equatable {
    /// Eight random lowercase letters and digits.
    public let tag: String
    /// Unix seconds, a whole hour between 2001 and 2021: the run's frames carry event times
    /// from here on, never the present, which is where the system's other traffic is.
    public let pastEpochSeconds: Int64

    static let earliestPastEpoch: Int64 = 978_307_200
    static let pastHours: UInt64 = 20 * 365 * 24

    public init(tag: String, pastEpochSeconds: Int64) {
        self.tag = tag
        self.pastEpochSeconds = pastEpochSeconds
    }

    /// A fresh identity from the system's random source.
    public init() {
        var random = SystemRandomNumberGenerator()
        self.init(using: &random)
    }

    private init(using random: inout some RandomNumberGenerator) {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        tag = String((0..<8).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
        pastEpochSeconds = Self.earliestPastEpoch + Int64(random.next() % Self.pastHours) * 3_600
    }
}
