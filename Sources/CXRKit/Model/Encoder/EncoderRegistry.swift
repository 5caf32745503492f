/// The encoder kinds a loader can build, by their config names.
package struct EncoderRegistry: Sendable {
    /// The kind a config without an `"encoder"` key names: every cxrcaption/1 file written before the key
    /// existed is a DenseNet (docs/WEIGHTS.md).
    package static let implicitKindName = "densenet"

    package let kinds: [any EncoderKind]

    /// Kinds with distinct names (a later kind of the same name replaces an earlier one).
    package init(_ kinds: [any EncoderKind]) {
        var unique: [any EncoderKind] = []
        for kind in kinds {
            unique.removeAll { $0.name == kind.name }
            unique.append(kind)
        }
        self.kinds = unique
    }

    /// The names, in registration order.
    package var names: [String] { kinds.map(\.name) }

    package func kind(named name: String) -> (any EncoderKind)? {
        kinds.first { $0.name == name }
    }

    /// This registry and `kind`.
    package func adding(_ kind: any EncoderKind) -> EncoderRegistry {
        EncoderRegistry(kinds + [kind])
    }
}
