/// What a loader accepts: the encoder kinds it can build and the image intake version its caller implements.
/// The model layer knows neither (the encoders sit above it, the intake beside it); the facade says both
/// (`ModelSupport.library` in CXRKit), and tests add encoders of their own.
package struct ModelSupport: Sendable {
    package var encoders: EncoderRegistry
    /// The `preprocessing` value a config must have.
    package var intakeVersion: Int

    package init(encoders: EncoderRegistry, intakeVersion: Int) {
        self.encoders = encoders
        self.intakeVersion = intakeVersion
    }
}
