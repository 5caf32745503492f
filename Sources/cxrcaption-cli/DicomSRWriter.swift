import CDICOM
import CXRImageIO
import CXRDecoding
import CXRKit
import CXRSupport
import Foundation

/// `caption --dicom-sr DIR`: for each captioned DICOM image, DIR/<image stem>.sr.dcm, an Enhanced SR
/// (`Sources/CDICOM/cxr_dicom_sr.cpp` has its tree) with the ranked impressions and their probabilities, the
/// findings head's probabilities, the model's name, version, file SHA-256 and metadata, and "not for clinical
/// use" when the model's metadata says so. It references the source image (Study, Series, SOP Instance
/// UIDs), copies its patient and study attributes, and gets new Series and SOP Instance UIDs. Two images
/// with the same stem get "<stem>.sr.dcm", "<stem>-2.sr.dcm", ... With --heatmaps, the overview sheet also
/// becomes a Secondary Capture image, "<stem>.heatmaps.dcm" (`writeCapture`).
struct DicomSRWriter {
    let directory: String
    let metadata: [String: String]
    let modelSHA256: String
    let labels: [String]
    private var usedNames: Set<String> = []

    /// Metadata values that mark a model as not for clinical use (matched case-insensitively in its
    /// disclaimer and intended use).
    static let notForClinicalUsePhrases = ["not for clinical use", "not for clinical", "research use only",
                                           "not a medical device", "not for patients", "not for diagnostic use"]

    init(directory: String, model: CaptionModel, modelPath: String) throws {
        self.directory = directory
        var metadata: [String: String] = [:]
        for key in ["name", "description", "version", "intended_use", "disclaimer", "license", "training_data"] {
            metadata[key] = model.metadata(key)
        }
        self.metadata = metadata
        modelSHA256 = try SHA256.hex(ofFile: modelPath)
        labels = model.labels
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// True when the model's disclaimer or intended use says it is not for clinical use.
    var notForClinicalUse: Bool {
        let words = [metadata["disclaimer"], metadata["intended_use"]].compactMap { $0?.lowercased() }
        return words.contains { text in Self.notForClinicalUsePhrases.contains { text.contains($0) } }
    }

    /// Writes the SR for `captions` and `findings` of the DICOM file at `sourcePath`; returns the file
    /// written and the SR's new SOP Instance UID.
    mutating func write(sourcePath: String, captions: [Caption], findings: [Float]?) throws -> (path: String, uid: String) {
        let path = (directory as NSString).appendingPathComponent(fileName(for: sourcePath))
        // C strings that live until the call returns.
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer { strings.forEach { free($0) } }
        func c(_ text: String?) -> UnsafePointer<CChar>? {
            guard let text, let copy = strdup(text) else { return nil }
            strings.append(copy)
            return UnsafePointer(copy)
        }
        let impressions = captions.map { cxr_sr_impression(text: c($0.text), probability: exp($0.logProbability)) }
        let findingItems = zip(labels, findings ?? []).map { cxr_sr_finding(label: c($0.0), probability: Double($0.1)) }
        var uid = [CChar](repeating: 0, count: 65)
        var error = cxr_dicom_error()
        let written = impressions.withUnsafeBufferPointer { impressionBuffer in
            findingItems.withUnsafeBufferPointer { findingBuffer in
                var request = cxr_sr_request(
                    source_path: c(sourcePath), output_path: c(path),
                    impressions: impressionBuffer.baseAddress, impression_count: Int32(impressionBuffer.count),
                    findings: findingBuffer.baseAddress, finding_count: Int32(findingBuffer.count),
                    model_name: c(metadata["name"]), model_version: c(metadata["version"]),
                    model_sha256: c(modelSHA256), model_description: c(metadata["description"]),
                    intended_use: c(metadata["intended_use"]), disclaimer: c(metadata["disclaimer"]),
                    license: c(metadata["license"]), training_data: c(metadata["training_data"]),
                    not_for_clinical_use: notForClinicalUse ? 1 : 0,
                    software_version: c("cxrcaption \(CXRVersion.string)"))
                return cxr_dicom_write_sr(&request, &uid, &error)
            }
        }
        guard written == 1 else {
            let message = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw CaptionRunError("DICOM SR: \(message)")
        }
        return (path, String(decoding: uid.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Writes DIR/<stem>.heatmaps.dcm, a Secondary Capture of the heat-map overview sheet of the DICOM file at
    /// `sourcePath`, next to its SR (same stem); returns the file written.
    func writeCapture(sourcePath: String, srPath: String, overview: RGBCanvas) throws -> String {
        let path = String(srPath.dropLast(".sr.dcm".count)) + ".heatmaps.dcm"
        let warning = notForClinicalUse ? " - NOT FOR CLINICAL USE" : ""
        var uid = [CChar](repeating: 0, count: 65)
        var error = cxr_dicom_error()
        let written = overview.pixels.withUnsafeBufferPointer { pixels in
            sourcePath.withCString { source in
                path.withCString { output in
                    "cxrcaption attention heat maps\(warning)".withCString { series in
                        ("attention heat maps of the top impression by \(metadata["name"] ?? "the model")"
                         + " (cxrcaption --heatmaps overview sheet)").withCString { derivation in
                            "cxrcaption \(CXRVersion.string)".withCString { software in
                                (metadata["name"] ?? "").withCString { name in
                                    var request = cxr_capture_request(
                                        source_path: source, output_path: output, rgb: pixels.baseAddress,
                                        width: Int32(overview.width), height: Int32(overview.height),
                                        series_description: series, derivation_description: derivation,
                                        software_version: software, model_name: name)
                                    return cxr_dicom_write_capture(&request, &uid, &error)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard written == 1 else {
            let message = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw CaptionRunError("DICOM heat-map image: \(message)")
        }
        return path
    }

    /// "<stem>.sr.dcm", or "<stem>-2.sr.dcm", ... when taken in this run.
    private mutating func fileName(for sourcePath: String) -> String {
        let stem = HeatmapFileNames.imageStem(sourcePath)
        var name = stem
        var suffix = 2
        while usedNames.contains(name) {
            name = "\(stem)-\(suffix)"
            suffix += 1
        }
        usedNames.insert(name)
        return name + ".sr.dcm"
    }
}
