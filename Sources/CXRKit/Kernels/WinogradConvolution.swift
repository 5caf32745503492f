import CXRTensor

import CVectorKernels

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
package struct WinogradConvolution: Sendable {
    package let outChannels: Int
    package let inChannels: Int
    /// U: [16, outChannels, inChannels] row-major (ξ = 4·row + column of the transformed tile).
    package let transformed: [Float]

    /// Transforms PyTorch's OIHW 3x3 weights (`oihw.count` = out x in x 9, sizes already validated).
    package init(outChannels: Int, inChannels: Int, oihw: [Float]) {
        self = oihw.withUnsafeBufferPointer { Self(outChannels: outChannels, inChannels: inChannels, oihw: $0) }
    }

    /// Transforms OIHW 3x3 weights held anywhere (the loader's reused read buffer, so that the raw weights
    /// never get memory of their own); `oihw` is only read during the call.
    package init(outChannels: Int, inChannels: Int, oihw: UnsafeBufferPointer<Float>) {
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
    package static let bandTiles = 64

    /// Tiles along a side of `side` pixels.
    package static func tiles(_ side: Int) -> Int { (side + 1) / 2 }

    /// Scratch floats one band of `tileCount` tiles needs: its transformed input and the GEMM outputs.
    package func scratchCount(tiles tileCount: Int) -> Int { tileCount * 16 * (inChannels + outChannels) }

    /// `output = conv3x3(input)` (stride 1, padding 1, no bias) for the output rows of tile rows
    /// `tileRows` (all when nil). `output` has `input`'s height and width and must not overlap `input` or
    /// the scratch. `scratchCount` must hold at least one tile row (`scratchCount(tiles: tiles(width))`);
    /// more tile rows per band are used when it fits. `zeros` must hold `inChannels` zeros.
    package func forward(input: FeatureMapView, output: FeatureMapView, tileRows: Range<Int>? = nil,
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

    /// V = Bᵀ d B for every tile of `tileRows`, into `v` as [tiles, 16, inChannels] (each tile's 16
    /// transformed rows together, so the writes stream; GEMM ξ reads rows ξ with stride 16 · inChannels).
    /// The arithmetic is `cvk_winograd_input`'s, per tile.
    private func transformInput(_ input: FeatureMapView, tileRows: Range<Int>, tilesPerRow: Int,
                                into v: UnsafeMutablePointer<Float>, zeros: UnsafePointer<Float>) {
        let channels = inChannels, level = VectorLevel.best.cLevel
        var v = v
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 16) { patch in
            for tileRow in tileRows {
                for tileColumn in 0..<tilesPerRow {
                    // The tile's 4x4 input pixels; those in the padding read a row of zeros.
                    for r in 0..<4 {
                        let y = 2 * tileRow - 1 + r
                        for s in 0..<4 {
                            let x = 2 * tileColumn - 1 + s
                            patch[4 * r + s] = y >= 0 && y < input.height && x >= 0 && x < input.width
                                ? UnsafePointer(input.pixel(y, x)) : zeros
                        }
                    }
                    cvk_winograd_input(level, patch.baseAddress!, channels, v)
                    v += 16 * channels
                }
            }
        }
    }

    /// Y = Aᵀ M A for every tile of `tileRows` from `m` ([tiles, 16, outChannels]), the 2x2 outputs
    /// that lie inside `output` written to it (`cvk_winograd_output`, per tile).
    private func transformOutput(_ m: UnsafeMutablePointer<Float>, tileRows: Range<Int>, tilesPerRow: Int,
                                 into output: FeatureMapView) {
        let channels = outChannels, level = VectorLevel.best.cLevel
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * channels) { spare in
            // Outputs that fall outside (odd sides) go to spare rows instead of a branch per channel.
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
                    cvk_winograd_output(level, m, channels, y00, y01, y10, y11)
                    m += 16 * channels
                }
            }
        }
    }
}
