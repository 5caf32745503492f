/// The library's version, reported by `cxr_version()` and `cxrcaption --version`. Written here once, as a
/// static literal so that the C layer can hand out its bytes (scripts/install.sh reads it from this line).
public enum CXRVersion {
    public static let text: StaticString = "0.1.0"
    public static var string: String { text.description }
}
