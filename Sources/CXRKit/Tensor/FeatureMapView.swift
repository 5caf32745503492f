/// A channels-last (NHWC, one image) view of an activation held elsewhere.
///
/// Pixel `p = y * width + x` holds `channels` consecutive floats starting at `base + p * pixelStride`.
/// `pixelStride` may exceed `channels`: a view of some channels of a wider buffer (a dense block's output,
/// where each layer writes its new channels in place) is a view with an offset `base` and the buffer's
/// channel count as its stride. Seen as a matrix, the view is [pixels, channels] row-major with leading
/// dimension `pixelStride`, which is what GEMM takes directly.
///
/// A view does not own its memory; the owner (a workspace) must outlive every use.
///
/// Public and `@inlinable`, unlike the rest of the core's internals (`package`): the kernels, another module,
/// call `pixel(_:_:)` once per pixel, and Swift 6.3 inlines across modules only the bodies of public
/// declarations (a `package` `@inlinable` one stays a call: 1.5 million of them per DenseNet-121 image).
public struct FeatureMapView {
    public var base: UnsafeMutablePointer<Float>
    public var height: Int
    public var width: Int
    public var channels: Int
    public var pixelStride: Int

    @inlinable
    public init(base: UnsafeMutablePointer<Float>, height: Int, width: Int, channels: Int, pixelStride: Int) {
        precondition(height >= 0 && width >= 0 && channels >= 0 && pixelStride >= channels,
                     "bad feature map view \(height)x\(width)x\(channels) stride \(pixelStride)")
        self.base = base
        self.height = height
        self.width = width
        self.channels = channels
        self.pixelStride = pixelStride
    }

    /// A dense view: `pixelStride == channels`.
    @inlinable
    public init(base: UnsafeMutablePointer<Float>, height: Int, width: Int, channels: Int) {
        self.init(base: base, height: height, width: width, channels: channels, pixelStride: channels)
    }

    /// Number of pixels, `height * width`.
    @inlinable
    public var pixelCount: Int { height * width }

    /// The floats the view spans, from `base` to the end of its last pixel's channels.
    @inlinable
    public var spanCount: Int { pixelCount == 0 ? 0 : (pixelCount - 1) * pixelStride + channels }

    /// The same pixels, channels `range` only (same stride).
    @inlinable
    public func channels(_ range: Range<Int>) -> FeatureMapView {
        precondition(range.lowerBound >= 0 && range.upperBound <= channels,
                     "channel range \(range) outside 0..<\(channels)")
        return FeatureMapView(base: base + range.lowerBound, height: height, width: width,
                              channels: range.count, pixelStride: pixelStride)
    }

    /// Pixels `range` (in `y * width + x` order) as a 1 x `range.count` view with the same channels: for
    /// kernels that treat pixels independently (BN-ReLU, 1x1 convolutions).
    @inlinable
    public func pixels(_ range: Range<Int>) -> FeatureMapView {
        precondition(range.lowerBound >= 0 && range.upperBound <= pixelCount,
                     "pixel range \(range) outside 0..<\(pixelCount)")
        return FeatureMapView(base: base + range.lowerBound * pixelStride, height: 1, width: range.count,
                              channels: channels, pixelStride: pixelStride)
    }

    /// Pointer to channel 0 of pixel (y, x).
    @inlinable @inline(__always)
    public func pixel(_ y: Int, _ x: Int) -> UnsafeMutablePointer<Float> {
        base + (y * width + x) * pixelStride
    }
}
