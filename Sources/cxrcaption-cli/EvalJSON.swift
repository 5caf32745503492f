import CXRMetrics
import CXRSupport

/// A JSON value, decoded from a manifest line or built for `cxrcaption eval`'s output.
///
/// Output is written by hand (not by `JSONEncoder`) so that numbers are the shortest round-trip decimal
/// form, exactly what `cxrcaption score --json` prints, and object members keep the order they were given.
indirect enum EvalJSON: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([EvalJSON])
    /// Members in output order.
    case object([(String, EvalJSON)])

    static func == (a: EvalJSON, b: EvalJSON) -> Bool { a.compact == b.compact }

    /// One line, no spaces between tokens beyond ", " and ": " separators.
    var compact: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += ScoringReportJSON.number(value)
        case .string(let value): out += ScoringReportJSON.string(value)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += ", " }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += ", " }
                out += ScoringReportJSON.string(key)
                out += ": "
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// A list of Float numbers (attention weights) in their shortest round-trip form.
    static func floats(_ values: ArraySlice<Float>) -> EvalJSON {
        .array(values.map { $0.isFinite ? .double(Double("\($0)") ?? Double($0)) : .null })
    }

    /// The seven metrics in `cxrcaption score --json`'s order and names.
    static func metrics(_ scores: MetricScores, extra: [(String, EvalJSON)] = []) -> EvalJSON {
        .object(ScoringReportJSON.metrics(scores).map { ($0.0, .double($0.1)) } + extra)
    }
}

extension EvalJSON: Decodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            // Keys in the order the decoder lists them (not guaranteed to be the file's order).
            var members: [(String, EvalJSON)] = []
            for key in object.allKeys {
                members.append((key.stringValue, try object.decode(EvalJSON.self, forKey: key)))
            }
            self = .object(members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) })
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var values: [EvalJSON] = []
            while !array.isAtEnd { values.append(try array.decode(EvalJSON.self)) }
            self = .array(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int.self) {
            self = .int(value)
        } else if let value = try? single.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    /// The member named `key` of an object, nil when absent or when this is not an object.
    subscript(key: String) -> EvalJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// "a string", "a number", ... for error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}
