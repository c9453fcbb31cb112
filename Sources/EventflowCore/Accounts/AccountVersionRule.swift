/// What became of an account's callback.
public enum CallbackState: String, Sendable, Equatable, CaseIterable {
    /// Waiting for its time (or for a retry).
    case pending
    /// The callback URL accepted it.
    case fired
    /// A newer version arrived before it fired.
    case cancelled
    /// The callback URL rejected it permanently (a 4xx other than 429).
    case failed
}

/// The stored version of an account, as far as ordering updates needs it.
public struct AccountVersion: Sendable, Equatable {
    public var version: Int64
    public var callback: CallbackState

    public init(version: Int64, callback: CallbackState) {
        self.version = version
        self.callback = callback
    }
}

/// Keeps the highest version of every account.
public enum AccountVersionRule {
    public enum Decision: Sendable, Equatable {
        /// The update is the account's newest version; when the version it replaces still
        /// had its callback pending, that callback is cancelled.
        case indexed(cancelledVersion: Int64?)
        /// The account already has this version or a newer one: the update is ignored.
        case stale(currentVersion: Int64)
    }

    public static func decide(current: AccountVersion?, update version: Int64) -> Decision {
        guard let current else { return .indexed(cancelledVersion: nil) }
        guard version > current.version else { return .stale(currentVersion: current.version) }
        return .indexed(cancelledVersion: current.callback == .pending ? current.version : nil)
    }
}
