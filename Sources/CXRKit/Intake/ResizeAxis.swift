
/// The exact integer weights that resize one image axis (intake pipeline version 1, docs/INTAKE.md "Resize").
///
/// Output sample `t` is `sum(weight * input[source]) / denominator` over its taps. Every weight and the
/// denominator are integers, so the resize is exact and independent of summation order:
/// - shrinking or equal (`source >= target`): area averaging. In units of 1/target input pixel, output `t`
///   covers `[t*source, (t+1)*source)` and input `k` covers `[k*target, (k+1)*target)`; the weight is the
///   overlap length and the denominator is `source`.
/// - enlarging (`source < target`): bilinear with half-pixel centers. Output `t` samples the input at
///   `x = ((2t+1)*source - target) / (2*target)`, clamped to `0...source-1`; the weights are
///   `2*target - r` on `floor(x)` and `r` on `floor(x) + 1`, where `r = (2t+1)*source - target mod 2*target`,
///   and the denominator is `2*target`.
struct ResizeAxis {
    struct Tap {
        var target: Int
        var source: Int
        var weight: Int
    }

    let sourceCount: Int
    let targetCount: Int
    let denominator: Int
    /// Taps ordered by target, then source.
    let taps: [Tap]
    /// `taps[targetStart[t] ..< targetStart[t + 1]]` are the taps of output `t`.
    let targetStart: [Int]
    /// Taps ordered by source, then target.
    let tapsBySource: [Tap]
    /// `tapsBySource[sourceStart[s] ..< sourceStart[s + 1]]` are the taps that read input `s`.
    let sourceStart: [Int]

    /// `source` and `target` must be in 1...16384 (checked by the caller).
    init(source: Int, target: Int) {
        sourceCount = source
        targetCount = target
        var taps: [Tap] = []
        if source >= target {
            denominator = source
            for t in 0..<target {
                let low = t * source, high = (t + 1) * source
                var k = low / target
                while k * target < high {
                    let overlap = min(high, (k + 1) * target) - max(low, k * target)
                    if overlap > 0 { taps.append(Tap(target: t, source: k, weight: overlap)) }
                    k += 1
                }
            }
        } else {
            denominator = 2 * target
            for t in 0..<target {
                let numerator = (2 * t + 1) * source - target
                var first = 0, remainder = 0
                if numerator > 0 {
                    first = numerator / (2 * target)
                    remainder = numerator % (2 * target)
                }
                if first >= source - 1 {
                    first = source - 1
                    remainder = 0
                }
                taps.append(Tap(target: t, source: first, weight: 2 * target - remainder))
                if remainder > 0 { taps.append(Tap(target: t, source: first + 1, weight: remainder)) }
            }
        }
        self.taps = taps
        targetStart = ResizeAxis.starts(of: taps, count: target) { $0.target }
        let bySource = taps.sorted { ($0.source, $0.target) < ($1.source, $1.target) }
        tapsBySource = bySource
        sourceStart = ResizeAxis.starts(of: bySource, count: source) { $0.source }
    }

    private static func starts(of taps: [Tap], count: Int, key: (Tap) -> Int) -> [Int] {
        var starts = [Int](repeating: 0, count: count + 1)
        for tap in taps { starts[key(tap) + 1] += 1 }
        for index in 0..<count { starts[index + 1] += starts[index] }
        return starts
    }
}
