/// Settings of the `log-store` processor.
public struct LogStoreConfiguration: Sendable, Equatable {
    /// Lines per flush at most; also the most it holds unflushed.
    public var batchSize: Int
    /// Longest time a line waits for its flush, seconds.
    public var flushInterval: Double

    public init(batchSize: Int = 5000, flushInterval: Double = 1) {
        self.batchSize = batchSize
        self.flushInterval = flushInterval
    }
}
