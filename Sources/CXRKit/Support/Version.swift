/// The library's version, reported by `cxr_version()` and `cxrcaption --version`.
public enum CXRVersion {
    public static let major = 0
    public static let minor = 1
    public static let patch = 0
    public static let string = "\(major).\(minor).\(patch)"
}
