/// Thrown (failing the test) when a committed fixture under Tests/CXRKitTests/Fixtures is missing: those files
/// are part of the repository, so their absence is an error, not a reason to skip. Only tests of data in
/// ../shared may skip.
struct MissingFixture: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
