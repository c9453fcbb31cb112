/// One of `count` slices of a stream by offset: the events whose offset modulo `count`
/// is `index`. Offsets are dense, so a partition is every `count`-th event, and several
/// processes can each work through their own partitions of one stream at once.
///
/// A partitioned processor keeps one cursor per partition, named
/// `<processor>[<index>/<count>]` (e.g. `deliver[1/4]`). Its cursor is a stream offset
/// like any other: every event of the partition before it is done.
public struct StreamPartition: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "partition \(index) of \(count) does not exist")
        self.index = index
        self.count = count
    }

    /// All partitions of a stream cut in `count`.
    public static func all(_ count: Int) -> [StreamPartition] {
        (0..<count).map { StreamPartition(index: $0, count: count) }
    }

    /// Whether the event at `offset` belongs to this partition.
    public func contains(_ offset: Int64) -> Bool {
        offset % Int64(count) == Int64(index)
    }

    /// The first offset at or after `offset` that belongs to this partition.
    public func first(atOrAfter offset: Int64) -> Int64 {
        let remainder = offset % Int64(count)
        return offset + (Int64(index) - remainder + Int64(count)) % Int64(count)
    }

    /// How many events of this partition lie in `from..<to`.
    public func events(from: Int64, to: Int64) -> Int64 {
        let first = first(atOrAfter: max(0, from))
        return first < to ? (to - 1 - first) / Int64(count) + 1 : 0
    }

    /// The cursor name of `processor`'s work on this partition.
    public func processorName(_ processor: String) -> String {
        "\(processor)[\(index)/\(count)]"
    }

    /// The processor and partition a cursor name stands for; nil partition for an
    /// unpartitioned processor.
    public static func parse(processorName name: String) -> (processor: String, partition: StreamPartition?) {
        guard name.hasSuffix("]"), let open = name.lastIndex(of: "[") else { return (name, nil) }
        let parts = name[name.index(after: open)..<name.index(before: name.endIndex)].split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0..<count).contains(index) else {
            return (name, nil)
        }
        return (String(name[..<open]), StreamPartition(index: index, count: count))
    }

    /// Events of `processorName` (partitioned or not) still to process between its cursor and the head.
    public static func backlog(processorName: String, cursor: Int64, head: Int64) -> (events: Int64, oldest: Int64) {
        guard let partition = parse(processorName: processorName).partition else { return (max(0, head - cursor), cursor) }
        return (partition.events(from: cursor, to: head), partition.first(atOrAfter: cursor))
    }

    public var description: String { "\(index)/\(count)" }
}
