import CXRSupport

/// The `config` metadata object, read key by key with the format's messages: each error names the key and
/// the value found (`config growth_rate is 0, expected 1...1024`). The shared parser and every encoder kind
/// read their keys through it, so a section of the config reads like any other.
package struct ConfigObject: Sendable {
    package let object: JSONObject

    package init(_ object: JSONObject) { self.object = object }

    /// The keys the object holds, in document order.
    package var keys: [String] { object.keys }

    /// The value of `key`, or nil when absent.
    package subscript(key: String) -> JSONValue? { object[key] }

    /// The value of a required key; throws naming it when absent.
    package func value(_ key: String) throws -> JSONValue {
        guard let value = object[key] else { throw CXRError.invalidModel("config is missing \"\(key)\"") }
        return value
    }

    /// An integer in `range`.
    package func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        let value = try value(key)
        guard let integer = value.integerValue else {
            throw CXRError.invalidModel("config \(key) is \(value.serialized), expected an integer")
        }
        guard range.contains(integer) else {
            throw CXRError.invalidModel("config \(key) is \(integer), expected \(range.lowerBound)...\(range.upperBound)")
        }
        return integer
    }

    /// A number strictly between the bounds of `range` (as Double).
    package func number(_ key: String, inOpen range: ClosedRange<Double>) throws -> Double {
        let value = try value(key)
        guard let number = value.doubleValue, number > range.lowerBound, number < range.upperBound else {
            throw CXRError.invalidModel("config \(key) is \(value.serialized), expected a number in "
                + "(\(Self.shortest(range.lowerBound)), \(Self.shortest(range.upperBound)))")
        }
        return number
    }

    /// 0 and 1 as "0" and "1", other numbers as Swift prints them.
    private static func shortest(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
