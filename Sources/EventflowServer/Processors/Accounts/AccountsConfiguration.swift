public import EventflowCore

/// Settings of the `accounts` processor and its callbacks.
public struct AccountsConfiguration: Sendable {
    /// Where callbacks are POSTed (the reference target's `/callbacks` by default).
    public var callbackURL: String
    /// Retry backoff for callbacks answered 429/5xx, timed out or not connected.
    public var retry: RetrySchedule
    /// Timeout of one callback request.
    public var timeout: Duration
    /// Callbacks waiting for a retry that the dispatcher keeps track of at most. While the
    /// receiver fails, due callbacks beyond it stay pending in the table, unsent, until
    /// retries succeed: memory stays bounded however many fall due.
    public var maxRetryingCallbacks = 10_000
    /// Scales every `callbackTimeMs` (0.1 fires ten times sooner); `accounts replay --speed` sets it.
    public var callbackDelayScale: Double
    /// Told of every indexed or ignored update and every fired or cancelled callback,
    /// once it is committed (`accounts replay` prints them).
    public var observer: (@Sendable (AccountsObservation) -> Void)?

    public static let defaultCallbackURL = "http://127.0.0.1:9090/callbacks"

    public init(
        callbackURL: String = AccountsConfiguration.defaultCallbackURL, retry: RetrySchedule = RetrySchedule(),
        timeout: Duration = .seconds(5), callbackDelayScale: Double = 1, observer: (@Sendable (AccountsObservation) -> Void)? = nil
    ) {
        self.callbackURL = callbackURL
        self.retry = retry
        self.timeout = timeout
        self.callbackDelayScale = callbackDelayScale
        self.observer = observer
    }
}

/// Something the `accounts` processor did, reported after it was committed.
public enum AccountsObservation: Sendable, Equatable {
    case indexed(id: String, version: Int64)
    case ignoredStale(id: String, version: Int64, currentVersion: Int64)
    case callbackCancelled(id: String, version: Int64, byVersion: Int64)
    case callbackFired(id: String, version: Int64)
    case callbackFailed(id: String, version: Int64)
}
