extension StateStatement {
    /// The statement's SQL with PostgreSQL's numbered parameters (`$1`, `$2`, …) in place of
    /// the `?` placeholders processors write; question marks inside quoted literals and
    /// identifiers stay as they are.
    var numberedPlaceholders: String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + binds.count * 2)
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                result.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                result.append(character)
            } else if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}
