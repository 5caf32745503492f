/// Everything the decoder computes once per image, before the first step (see
/// `AttentionDecoder.prepare(features:)`). Immutable, so it may be shared while several searches run.
struct DecoderImageContext: Sendable {
    /// Regions R of the encoder grid.
    let regionCount: Int
    /// Feature channels F.
    let featureChannels: Int
    /// V, region-major [R, F]: row r holds the F channels of region r (r = y * grid + x).
    let features: [Float]
    /// V_gav: the mean of V over the regions, [F].
    let meanFeatures: [Float]
    /// W_v V_r + b_v for every region, [R, a].
    let projectedFeatures: [Float]
    /// The part of the LSTM's gate pre-activations that does not change between steps,
    /// W_ih[:, e:] · V_gav + bias_ih + bias_hh, [4h].
    let constantGates: [Float]
    /// P = V W_ecᵀ, [R, V]: row r holds the output layer's context term for region r alone, so that
    /// W_ec C_t = alpha_tᵀ P. nil when the decoder does not use it (`AttentionDecoder.usesContextTable`).
    let contextLogits: [Float]?
}
