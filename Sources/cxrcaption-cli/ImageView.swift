import ArgumentParser
import Foundation

/// What a view name (DICOM ViewPosition, a manifest's "view") says about the projection. The names and classes
/// are the trainer's (training/cxrcaption_train/records.py: `normalize_view`, `FRONTAL_VIEWS`,
/// `LATERAL_VIEWS`), so that the CLI and the trainer select and score the same images.
enum ViewClass: String, Equatable, Sendable {
    /// PA, AP and their variants (FRONTAL, AP AXIAL, PA AXIAL, decubitus LLD/RLD, PA LLD, ...).
    case frontal
    /// LATERAL, LL, RL, XTABLE LATERAL, SWIMMERS (and their synonyms LAT, L, LEFT LATERAL, ...).
    case lateral
    /// Any other stated view (obliques LAO, RAO, LPO, RPO, ...).
    case other
    /// No view information: PNG, JPEG, a DICOM file without ViewPosition, a blank or "UNKNOWN" value.
    case unknown

    static let frontalViews: Set<String> = ["PA", "AP", "FRONTAL", "AP AXIAL", "PA AXIAL", "PA LLD", "AP LLD",
                                            "PA RLD", "AP RLD", "LLD", "RLD"]
    static let lateralViews: Set<String> = ["LATERAL", "LL", "RL", "XTABLE LATERAL", "SWIMMERS"]
    static let synonyms: [String: String] = [
        "POSTERO-ANTERIOR": "PA", "POSTEROANTERIOR": "PA", "POSTERO ANTERIOR": "PA", "P-A": "PA",
        "ANTERO-POSTERIOR": "AP", "ANTEROPOSTERIOR": "AP", "ANTERO POSTERIOR": "AP", "A-P": "AP",
        "LAT": "LATERAL", "L": "LATERAL", "LEFT LATERAL": "LL", "RIGHT LATERAL": "RL",
        "X-TABLE LATERAL": "XTABLE LATERAL", "CROSS-TABLE LATERAL": "XTABLE LATERAL", "SWIMMER": "SWIMMERS",
        "SWIMMER'S": "SWIMMERS",
    ]
    static let unknownNames: Set<String> = ["", "UNKNOWN", "NONE", "NAN", "NULL", "N/A", "?"]

    /// `view` as the trainer normalizes it: "_" as a space, runs of white space as one space, upper case,
    /// synonyms mapped; nil for nil and the unknown names.
    static func normalized(_ view: String?) -> String? {
        guard let view else { return nil }
        let text = view.replacingOccurrences(of: "_", with: " ").split(whereSeparator: { $0.isWhitespace })
            .joined(separator: " ").uppercased()
        if unknownNames.contains(text) { return nil }
        return synonyms[text] ?? text
    }

    init(view: String?) {
        guard let name = Self.normalized(view) else {
            self = .unknown
            return
        }
        if Self.frontalViews.contains(name) {
            self = .frontal
        } else if Self.lateralViews.contains(name) {
            self = .lateral
        } else {
            self = .other
        }
    }

    /// Frontal or of unknown view: what `caption --views frontal` captions and what a study is scored on first.
    var isFrontalOrUnknown: Bool { self == .frontal || self == .unknown }
}

/// `caption --views`: which images are captioned.
enum ViewSelection: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Frontal views (PA, AP, ...) and images without view information; lateral and other views are skipped.
    case frontal
    /// Every image.
    case all

    /// Whether an image of view `view` is captioned.
    func admits(_ view: String?) -> Bool {
        self == .all || ViewClass(view: view).isFrontalOrUnknown
    }
}
