import CXRDenseNet
import CXRIntake
import CXRModel

extension EncoderRegistry {
    /// The encoders this library builds. A new encoder kind is registered here, once.
    package static let builtIn = EncoderRegistry([DenseNetKind()])
}

extension ModelSupport {
    /// What this library runs: the built-in encoders, and the intake pipeline `ImageIntake` implements.
    package static let library = ModelSupport(encoders: .builtIn, intakeVersion: ImageIntake.version)
}
