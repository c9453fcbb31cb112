/// A value bound to, or read from, a processor's state tables.
public enum StateValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case null

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}

/// One SQL statement on a processor's own tables, with `?` placeholders.
///
/// Processors write the SQL both embedded SQLite and PostgreSQL understand (`BIGINT`,
/// `TEXT`, `INSERT … ON CONFLICT … DO UPDATE`, window functions), so one processor
/// runs on either log.
public struct StateStatement: Sendable, Equatable {
    public var sql: String
    public var binds: [StateValue]

    public init(_ sql: String, _ binds: [StateValue] = []) {
        self.sql = sql
        self.binds = binds
    }
}

/// One row of a state query, its values in the order of the `SELECT` list.
public struct StateRow: Sendable, Equatable {
    public var values: [StateValue]

    public init(values: [StateValue]) {
        self.values = values
    }

    public func integer(_ index: Int) -> Int64? { values[index].integer }
    public func text(_ index: Int) -> String? { values[index].text }
}

/// A processor's step: its state changes and its new cursor, committed in one transaction
/// so that after a crash the state always matches the cursor (replay never double-counts).
public struct StateCommit: Sendable {
    public var processor: String
    public var stream: String
    /// The next offset to process once this commit is durable; nil leaves the cursor where
    /// it is (state changes not driven by events, such as a callback that fired).
    public var cursor: Int64?
    public var statements: [StateStatement]

    public init(processor: String, stream: String, cursor: Int64?, statements: [StateStatement]) {
        self.processor = processor
        self.stream = stream
        self.cursor = cursor
        self.statements = statements
    }
}

extension StateStatement {
    /// Parameters per statement: under SQLite's limit of 32,766 and PostgreSQL's of 65,535.
    static let maxBindsPerStatement = 30_000

    /// One `INSERT` per chunk of `rows`: `"<head> VALUES (?,…),(?,…) <tail>"`, where `tail`
    /// is typically an `ON CONFLICT` clause. Rows must all have the same number of values.
    public static func insertRows(_ head: String, rows: [[StateValue]], tail: String = "") -> [StateStatement] {
        guard let width = rows.first?.count, width > 0 else { return [] }
        let tuple = "(" + Array(repeating: "?", count: width).joined(separator: ",") + ")"
        let rowsPerStatement = max(1, min(1000, maxBindsPerStatement / width))
        var statements: [StateStatement] = []
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.count)]
            let sql = head + " VALUES " + Array(repeating: tuple, count: chunk.count).joined(separator: ",") + (tail.isEmpty ? "" : " " + tail)
            statements.append(StateStatement(sql, chunk.flatMap { $0 }))
            start += chunk.count
        }
        return statements
    }

    /// `"<head> IN (?,…)<tail>"` per chunk of `values`, for lookups by many keys at once.
    public static func whereIn(_ head: String, _ values: [StateValue], tail: String = "") -> [StateStatement] {
        stride(from: 0, to: values.count, by: 500).map { start in
            let chunk = Array(values[start..<min(start + 500, values.count)])
            return StateStatement(head + " IN (" + Array(repeating: "?", count: chunk.count).joined(separator: ",") + ")" + tail, chunk)
        }
    }
}
