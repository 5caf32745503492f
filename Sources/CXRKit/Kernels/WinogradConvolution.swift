/// 3x3, stride 1, padding 1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2015),
/// channels-last.
///
/// The output is cut into 2x2 tiles. Each tile's 4x4 input patch d (zeros in the padding) becomes
/// V = Bᵀ d B, the filters g become U = G g Gᵀ (once, at load), and for each of the 16 positions ξ of the
/// 4x4 transformed tile, M_ξ[tiles, out] = V_ξ[tiles, in] · U_ξ[out, in]ᵀ is one GEMM over a band of
/// tiles (bands of about `bandTiles` tiles, so that a band's transformed input stays in L2 and OpenBLAS
/// takes its small-matrix path); the 2x2 outputs are Y = Aᵀ M A. That is 16 multiplies per 4 outputs instead of 36 (2.25x fewer),
/// and the transformed band (4 floats per input pixel) replaces im2col's 9. The transforms only add,
/// subtract and halve, so the result differs from the direct sum by rounding alone (about 1e-6 relative).
///
///     Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
///     Aᵀ = [1 1 1 0; 0 1 -1 -1]
struct WinogradConvolution: Sendable {
    let outChannels: Int
    let inChannels: Int
    /// U: [16, outChannels, inChannels] row-major (ξ = 4·row + column of the transformed tile).
    let transformed: [Float]

    /// Transforms PyTorch's OIHW 3x3 weights (`oihw.count` = out x in x 9, sizes already validated).
    init(outChannels: Int, inChannels: Int, oihw: [Float]) {
        self = oihw.withUnsafeBufferPointer { Self(outChannels: outChannels, inChannels: inChannels, oihw: $0) }
    }

    /// Transforms OIHW 3x3 weights held anywhere (the loader's reused read buffer, so that the raw weights
    /// never get memory of their own); `oihw` is only read during the call.
    init(outChannels: Int, inChannels: Int, oihw: UnsafeBufferPointer<Float>) {
        precondition(outChannels >= 1 && inChannels >= 1 && oihw.count == outChannels * inChannels * 9,
                     "Winograd convolution \(outChannels)x\(inChannels)x3x3 with \(oihw.count) weights")
        self.outChannels = outChannels
        self.inChannels = inChannels
        let plane = outChannels * inChannels
        // Every element of U is written below, so the array starts uninitialized (no zero-fill pass).
        transformed = [Float](unsafeUninitializedCapacity: 16 * plane) { u, initialized in
            var pair = 0
            while pair < plane {
                let count = min(4, plane - pair)
                Self.transformFilters(oihw.baseAddress! + pair * 9, count: count, into: u.baseAddress! + pair,
                                      plane: plane)
                pair += count
            }
            initialized = 16 * plane
        }
    }

    /// U = G g Gᵀ for `count` (1...4) consecutive filters g (9 floats each, row-major) at once, one filter
    /// per lane; U element ξ of filter j goes to `u[ξ * plane + j]`. In Double, so that the only rounding
    /// is the last.
    @inline(__always)
    private static func transformFilters(_ w: UnsafePointer<Float>, count: Int,
                                         into u: UnsafeMutablePointer<Float>, plane: Int) {
        typealias Lanes = SIMD4<Double>
        // Tap t of the filters as lanes (a short last group repeats its last filter).
        func tap(_ t: Int) -> Lanes {
            Lanes(Double(w[t]), Double(w[min(1, count - 1) * 9 + t]), Double(w[min(2, count - 1) * 9 + t]),
                  Double(w[min(3, count - 1) * 9 + t]))
        }
        let w00 = tap(0), w01 = tap(1), w02 = tap(2)
        let w10 = tap(3), w11 = tap(4), w12 = tap(5)
        let w20 = tap(6), w21 = tap(7), w22 = tap(8)
        // gg = G · w (4x3), then U = gg · Gᵀ (4x4).
        let g00 = w00, g10 = 0.5 * (w00 + w10 + w20)
        let g20 = 0.5 * (w00 - w10 + w20), g30 = w20
        let g01 = w01, g11 = 0.5 * (w01 + w11 + w21)
        let g21 = 0.5 * (w01 - w11 + w21), g31 = w21
        let g02 = w02, g12 = 0.5 * (w02 + w12 + w22)
        let g22 = 0.5 * (w02 - w12 + w22), g32 = w22
        func store(_ value: Lanes, _ position: Int) {
            let narrowed = SIMD4<Float>(Float(value[0]), Float(value[1]), Float(value[2]), Float(value[3]))
            let destination = u + position * plane
            if count == 4 {
                UnsafeMutableRawPointer(destination).storeBytes(of: narrowed, as: SIMD4<Float>.self)
            } else {
                for lane in 0..<count { destination[lane] = narrowed[lane] }
            }
        }
        store(g00, 0)
        store(0.5 * (g00 + g01 + g02), 1)
        store(0.5 * (g00 - g01 + g02), 2)
        store(g02, 3)
        store(g10, 4)
        store(0.5 * (g10 + g11 + g12), 5)
        store(0.5 * (g10 - g11 + g12), 6)
        store(g12, 7)
        store(g20, 8)
        store(0.5 * (g20 + g21 + g22), 9)
        store(0.5 * (g20 - g21 + g22), 10)
        store(g22, 11)
        store(g30, 12)
        store(0.5 * (g30 + g31 + g32), 13)
        store(0.5 * (g30 - g31 + g32), 14)
        store(g32, 15)
    }

    /// Tiles per band the encoder aims at (at least one tile row per band).
    static let bandTiles = 64

    /// Tiles along a side of `side` pixels.
    static func tiles(_ side: Int) -> Int { (side + 1) / 2 }

    /// Scratch floats one band of `tileCount` tiles needs: its transformed input and the GEMM outputs.
    func scratchCount(tiles tileCount: Int) -> Int { tileCount * 16 * (inChannels + outChannels) }

    /// `output = conv3x3(input)` (stride 1, padding 1, no bias) for the output rows of tile rows
    /// `tileRows` (all when nil). `output` has `input`'s height and width and must not overlap `input` or
    /// the scratch. `scratchCount` must hold at least one tile row (`scratchCount(tiles: tiles(width))`);
    /// more tile rows per band are used when it fits. `zeros` must hold `inChannels` zeros.
    func forward(input: FeatureMapView, output: FeatureMapView, tileRows: Range<Int>? = nil,
                 scratch: UnsafeMutablePointer<Float>, scratchCount: Int, zeros: UnsafePointer<Float>) {
        precondition(input.channels == inChannels && output.channels == outChannels
                     && input.height == output.height && input.width == output.width,
                     "Winograd convolution \(inChannels)->\(outChannels) applied to \(input.height)x\(input.width)x"
                     + "\(input.channels) -> \(output.height)x\(output.width)x\(output.channels)")
        let tileRows = tileRows ?? 0..<Self.tiles(input.height)
        let tilesPerRow = Self.tiles(input.width)
        guard !tileRows.isEmpty, tilesPerRow > 0 else { return }
        let rowFloats = self.scratchCount(tiles: tilesPerRow)
        precondition(scratchCount >= rowFloats,
                     "Winograd scratch \(scratchCount) floats is less than one tile row (\(rowFloats))")
        let rowsPerBand = min(tileRows.count, scratchCount / rowFloats)
        transformed.withUnsafeBufferPointer { u in
            let u = u.baseAddress!
            var tileRow = tileRows.lowerBound
            while tileRow < tileRows.upperBound {
                let band = tileRow..<min(tileRow + rowsPerBand, tileRows.upperBound)
                let tileCount = band.count * tilesPerRow
                let v = scratch
                let m = scratch + 16 * tileCount * inChannels
                transformInput(input, tileRows: band, tilesPerRow: tilesPerRow, into: v, zeros: zeros)
                for position in 0..<16 {
                    GEMM.multiply(m: tileCount, n: outChannels, k: inChannels,
                                  a: v + position * inChannels, lda: 16 * inChannels,
                                  b: u + position * outChannels * inChannels, ldb: inChannels, bIsTransposed: true,
                                  c: m + position * outChannels, ldc: 16 * outChannels)
                }
                transformOutput(m, tileRows: band, tilesPerRow: tilesPerRow, into: output)
                tileRow = band.upperBound
            }
        }
    }

    /// Four channels from `pointer + offset` (any alignment).
    @inline(__always)
    private func load(_ pointer: UnsafePointer<Float>, _ offset: Int) -> SIMD4<Float> {
        UnsafeRawPointer(pointer + offset).loadUnaligned(as: SIMD4<Float>.self)
    }

    @inline(__always)
    private func load(_ pointer: UnsafeMutablePointer<Float>, _ offset: Int) -> SIMD4<Float> {
        UnsafeRawPointer(pointer + offset).loadUnaligned(as: SIMD4<Float>.self)
    }

    /// Stores four channels at `pointer + offset` (any alignment).
    @inline(__always)
    private func store(_ value: SIMD4<Float>, _ pointer: UnsafeMutablePointer<Float>, _ offset: Int) {
        UnsafeMutableRawPointer(pointer + offset).storeBytes(of: value, as: SIMD4<Float>.self)
    }

    /// V = Bᵀ d B for every tile of `tileRows`, into `v` as [tiles, 16, inChannels] (each tile's 16
    /// transformed rows together, so the writes stream; GEMM ξ reads rows ξ with stride 16 · inChannels).
    private func transformInput(_ input: FeatureMapView, tileRows: Range<Int>, tilesPerRow: Int,
                                into v: UnsafeMutablePointer<Float>, zeros: UnsafePointer<Float>) {
        let channels = inChannels
        let planeStride = channels
        var v = v
        for tileRow in tileRows {
            for tileColumn in 0..<tilesPerRow {
                func at(_ r: Int, _ s: Int) -> UnsafePointer<Float> {
                    let y = 2 * tileRow - 1 + r, x = 2 * tileColumn - 1 + s
                    return y >= 0 && y < input.height && x >= 0 && x < input.width
                        ? UnsafePointer(input.pixel(y, x)) : zeros
                }
                let p00 = at(0, 0), p01 = at(0, 1), p02 = at(0, 2), p03 = at(0, 3)
                let p10 = at(1, 0), p11 = at(1, 1), p12 = at(1, 2), p13 = at(1, 3)
                let p20 = at(2, 0), p21 = at(2, 1), p22 = at(2, 2), p23 = at(2, 3)
                let p30 = at(3, 0), p31 = at(3, 1), p32 = at(3, 2), p33 = at(3, 3)
                var c = 0
                while c + 4 <= channels {
                    let d00 = load(p00, c)
                    let d01 = load(p01, c)
                    let d02 = load(p02, c)
                    let d03 = load(p03, c)
                    let d10 = load(p10, c)
                    let d11 = load(p11, c)
                    let d12 = load(p12, c)
                    let d13 = load(p13, c)
                    let d20 = load(p20, c)
                    let d21 = load(p21, c)
                    let d22 = load(p22, c)
                    let d23 = load(p23, c)
                    let d30 = load(p30, c)
                    let d31 = load(p31, c)
                    let d32 = load(p32, c)
                    let d33 = load(p33, c)
                    let t00 = d00 - d20
                    let t01 = d01 - d21
                    let t02 = d02 - d22
                    let t03 = d03 - d23
                    let t10 = d10 + d20
                    let t11 = d11 + d21
                    let t12 = d12 + d22
                    let t13 = d13 + d23
                    let t20 = d20 - d10
                    let t21 = d21 - d11
                    let t22 = d22 - d12
                    let t23 = d23 - d13
                    let t30 = d10 - d30
                    let t31 = d11 - d31
                    let t32 = d12 - d32
                    let t33 = d13 - d33
                    store(t00 - t02, v + 0 * planeStride, c)
                    store(t01 + t02, v + 1 * planeStride, c)
                    store(t02 - t01, v + 2 * planeStride, c)
                    store(t01 - t03, v + 3 * planeStride, c)
                    store(t10 - t12, v + 4 * planeStride, c)
                    store(t11 + t12, v + 5 * planeStride, c)
                    store(t12 - t11, v + 6 * planeStride, c)
                    store(t11 - t13, v + 7 * planeStride, c)
                    store(t20 - t22, v + 8 * planeStride, c)
                    store(t21 + t22, v + 9 * planeStride, c)
                    store(t22 - t21, v + 10 * planeStride, c)
                    store(t21 - t23, v + 11 * planeStride, c)
                    store(t30 - t32, v + 12 * planeStride, c)
                    store(t31 + t32, v + 13 * planeStride, c)
                    store(t32 - t31, v + 14 * planeStride, c)
                    store(t31 - t33, v + 15 * planeStride, c)
                    c += 4
                }
                for c in c..<channels {
                    let d00 = p00[c]
                    let d01 = p01[c]
                    let d02 = p02[c]
                    let d03 = p03[c]
                    let d10 = p10[c]
                    let d11 = p11[c]
                    let d12 = p12[c]
                    let d13 = p13[c]
                    let d20 = p20[c]
                    let d21 = p21[c]
                    let d22 = p22[c]
                    let d23 = p23[c]
                    let d30 = p30[c]
                    let d31 = p31[c]
                    let d32 = p32[c]
                    let d33 = p33[c]
                    let t00 = d00 - d20
                    let t01 = d01 - d21
                    let t02 = d02 - d22
                    let t03 = d03 - d23
                    let t10 = d10 + d20
                    let t11 = d11 + d21
                    let t12 = d12 + d22
                    let t13 = d13 + d23
                    let t20 = d20 - d10
                    let t21 = d21 - d11
                    let t22 = d22 - d12
                    let t23 = d23 - d13
                    let t30 = d10 - d30
                    let t31 = d11 - d31
                    let t32 = d12 - d32
                    let t33 = d13 - d33
                    v[0 * planeStride + c] = t00 - t02
                    v[1 * planeStride + c] = t01 + t02
                    v[2 * planeStride + c] = t02 - t01
                    v[3 * planeStride + c] = t01 - t03
                    v[4 * planeStride + c] = t10 - t12
                    v[5 * planeStride + c] = t11 + t12
                    v[6 * planeStride + c] = t12 - t11
                    v[7 * planeStride + c] = t11 - t13
                    v[8 * planeStride + c] = t20 - t22
                    v[9 * planeStride + c] = t21 + t22
                    v[10 * planeStride + c] = t22 - t21
                    v[11 * planeStride + c] = t21 - t23
                    v[12 * planeStride + c] = t30 - t32
                    v[13 * planeStride + c] = t31 + t32
                    v[14 * planeStride + c] = t32 - t31
                    v[15 * planeStride + c] = t31 - t33
                }
                v += 16 * channels
            }
        }
    }

    /// Y = Aᵀ M A for every tile of `tileRows` from `m` ([tiles, 16, outChannels]), the 2x2 outputs
    /// that lie inside `output` written to it.
    private func transformOutput(_ m: UnsafeMutablePointer<Float>, tileRows: Range<Int>, tilesPerRow: Int,
                                 into output: FeatureMapView) {
        let channels = outChannels
        let planeStride = channels
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * channels) { spare in
            // Outputs that fall outside (odd sides) go to a spare row instead of a branch per channel.
            let spare = spare.baseAddress!
            var m = m
            for tileRow in tileRows {
                for tileColumn in 0..<tilesPerRow {
                    let y = 2 * tileRow, x = 2 * tileColumn
                    let lastRow = y + 1 < output.height, lastColumn = x + 1 < output.width
                    let y00 = output.pixel(y, x)
                    let y01 = lastColumn ? output.pixel(y, x + 1) : spare
                    let y10 = lastRow ? output.pixel(y + 1, x) : spare + channels
                    let y11 = lastRow && lastColumn ? output.pixel(y + 1, x + 1) : spare + 2 * channels
                    var o = 0
                    while o + 4 <= channels {
                        let m00 = load(m + 0 * planeStride, o)
                        let m01 = load(m + 1 * planeStride, o)
                        let m02 = load(m + 2 * planeStride, o)
                        let m03 = load(m + 3 * planeStride, o)
                        let m10 = load(m + 4 * planeStride, o)
                        let m11 = load(m + 5 * planeStride, o)
                        let m12 = load(m + 6 * planeStride, o)
                        let m13 = load(m + 7 * planeStride, o)
                        let m20 = load(m + 8 * planeStride, o)
                        let m21 = load(m + 9 * planeStride, o)
                        let m22 = load(m + 10 * planeStride, o)
                        let m23 = load(m + 11 * planeStride, o)
                        let m30 = load(m + 12 * planeStride, o)
                        let m31 = load(m + 13 * planeStride, o)
                        let m32 = load(m + 14 * planeStride, o)
                        let m33 = load(m + 15 * planeStride, o)
                        let u00 = m00 + m10 + m20
                        let u10 = m10 - m20 - m30
                        let u01 = m01 + m11 + m21
                        let u11 = m11 - m21 - m31
                        let u02 = m02 + m12 + m22
                        let u12 = m12 - m22 - m32
                        let u03 = m03 + m13 + m23
                        let u13 = m13 - m23 - m33
                        store(u00 + u01 + u02, y00, o)
                        store(u01 - u02 - u03, y01, o)
                        store(u10 + u11 + u12, y10, o)
                        store(u11 - u12 - u13, y11, o)
                        o += 4
                    }
                    for o in o..<channels {
                        let m00 = m[0 * planeStride + o]
                        let m01 = m[1 * planeStride + o]
                        let m02 = m[2 * planeStride + o]
                        let m03 = m[3 * planeStride + o]
                        let m10 = m[4 * planeStride + o]
                        let m11 = m[5 * planeStride + o]
                        let m12 = m[6 * planeStride + o]
                        let m13 = m[7 * planeStride + o]
                        let m20 = m[8 * planeStride + o]
                        let m21 = m[9 * planeStride + o]
                        let m22 = m[10 * planeStride + o]
                        let m23 = m[11 * planeStride + o]
                        let m30 = m[12 * planeStride + o]
                        let m31 = m[13 * planeStride + o]
                        let m32 = m[14 * planeStride + o]
                        let m33 = m[15 * planeStride + o]
                        let u00 = m00 + m10 + m20
                        let u10 = m10 - m20 - m30
                        let u01 = m01 + m11 + m21
                        let u11 = m11 - m21 - m31
                        let u02 = m02 + m12 + m22
                        let u12 = m12 - m22 - m32
                        let u03 = m03 + m13 + m23
                        let u13 = m13 - m23 - m33
                        y00[o] = u00 + u01 + u02
                        y01[o] = u01 - u02 - u03
                        y10[o] = u10 + u11 + u12
                        y11[o] = u11 - u12 - u13
                    }
                    m += 16 * channels
                }
            }
        }
    }
}
