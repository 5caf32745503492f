/// How token strings are joined into text.
public enum JoinRule: Equatable, Sendable {
    /// Chinese: tokens are concatenated ("" in the weights file).
    case concatenate
    /// English: tokens separated by one space, punctuation attached to the previous word (" ").
    case spaceSeparated
}

/// Token ids <-> strings, the special tokens, and the rule that turns tokens into text.
public struct Vocabulary: Equatable, Sendable {
    public let tokens: [String]
    public let padID: Int
    public let startID: Int
    public let endID: Int
    public let unknownID: Int
    public let join: JoinRule

    package init(tokens: [String], padID: Int, startID: Int, endID: Int, unknownID: Int, join: JoinRule) {
        self.tokens = tokens
        self.padID = padID
        self.startID = startID
        self.endID = endID
        self.unknownID = unknownID
        self.join = join
    }

    public var count: Int { tokens.count }
}
