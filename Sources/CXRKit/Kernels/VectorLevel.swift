import CVectorKernels

/// The vector instruction set a C kernel (`CVectorKernels`) runs with. The library always uses `best`;
/// tests run every level of `supported`. The element-wise kernels give the same bits at every level (the
/// C source fixes each sum's order and turns contraction off), so for them the level is a speed choice
/// only; the few-row product's FMA levels differ from each other in the last bits.
package enum VectorLevel: Int, CaseIterable, Sendable {
    /// The build's baseline (SSE2 on x86-64).
    case generic = 0
    /// AVX2, 8 lanes.
    case avx2 = 1
    /// AVX-512F, 16 lanes.
    case avx512 = 2

    /// The widest level this CPU and operating system support.
    package static let best = VectorLevel(rawValue: Int(cvk_best_level().rawValue)) ?? .generic

    /// The levels this machine can run, narrowest first.
    package static var supported: [VectorLevel] { allCases.filter { $0.rawValue <= best.rawValue } }

    /// This level, or `best` if that is narrower: the level a kernel asked for `self` runs at.
    package var usable: VectorLevel { rawValue <= Self.best.rawValue ? self : Self.best }

    package var cLevel: cvk_level { cvk_level(rawValue: UInt32(rawValue)) }
}
