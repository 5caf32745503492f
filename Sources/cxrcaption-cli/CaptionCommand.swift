import ArgumentParser
import CXRImageIO
import CXRDecoding
import CXRKit
import CXRSupport
import Foundation

/// `cxrcaption caption --model M IMAGE_OR_FOLDER...`: ranked impressions with probabilities for each image.
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Write ranked impressions (with probabilities) for chest X-rays (DICOM, JPEG, PNG).",
        discussion: """
            Arguments are image files and folders. Images are DICOM (uncompressed, JPEG, JPEG-LS, RLE, \
            JPEG 2000; the first frame, with its stored values, rescale, first window and photometric \
            interpretation: docs/INTAKE.md, "DICOM"), JPEG (gray, YCbCr, RGB) and PNG (8/16-bit gray, RGB, \
            RGBA, palette), recognized by their first bytes ("DICM" at byte 128, the PNG and JPEG \
            signatures) or else by their extension (.dcm .dicom .dic .jpg .jpeg .jpe .jfif .png). A folder \
            contributes its images in sorted order (subfolders too with --recursive); its other files are \
            not captioned but counted and listed at the end, on standard error. A file named explicitly \
            that is not an image is reported as failed.

            Views: by default (--views frontal) frontal images (ViewPosition PA, AP and their variants: \
            AP AXIAL, decubitus LLD/RLD, ...) and images without view information (PNG, JPEG, DICOM \
            without ViewPosition) are captioned; an image whose ViewPosition names another view (LL, RL, \
            LATERAL, an oblique) is skipped with a message naming the file and its view. --views all \
            captions every image. The JSON of each image carries "view" (the \
            ViewPosition, null when unknown) and "skipped" (why it was not captioned, else null).

            One bad image never stops the run: it is reported on standard error (and in --json/--jsonl \
            with its "error"), and the run goes on. Exit status: 0 when every image was captioned or \
            skipped for its view (non-images in folders are only listed), 1 when any image failed (or \
            there was no image at all). With more than one image, progress is shown on standard error: a \
            bar on a terminal, a plain line every 5% otherwise (--quiet: none).

            --heatmaps DIR writes DIR/<image name>/NN_<token>.png for tokens of the top result (the \
            image in its own aspect, as the model's intake shows it, with that token's attention map \
            stretched over it as intake stretched the image to the square input, bilinearly upsampled, \
            blended in turbo colours: blue = little attention, red = the most; a colour bar gives the \
            scale: each map's own peak, or with --heatmap-scale shared one scale for all), overview.png \
            (the sentence and all panels) and attention.json (the raw maps of every token). Panels stop \
            where the caption starts repeating itself (a loop) and at --heatmap-panels; the sheet says so.

            --dicom-sr DIR writes DIR/<image name>.sr.dcm for each captioned DICOM image: an Enhanced SR \
            with the ranked impressions and their probabilities, the findings head's probabilities, the \
            model's name, version, file SHA-256, intended use and disclaimer ("not for clinical use" when \
            the model's metadata says so), referencing the source image's Study, Series and SOP Instance \
            UIDs, with the source's patient and study attributes, in the source's study as a new series \
            (new Series and SOP Instance UIDs). With --heatmaps, DIR/<image name>.heatmaps.dcm is the \
            overview sheet as a Secondary Capture image of the same study. A non-DICOM image gets no SR, \
            and a message says so (docs/DICOM_SR.md).
            """
    )

    @Option(help: "The model (.safetensors).")
    var model: String

    @Option(help: "Beam width (\(GenerationParameters.beamWidthRange.lowerBound)...\(GenerationParameters.beamWidthRange.upperBound)).")
    var beam: Int = 3

    @Option(help: "Impressions to print per image (1...beam).")
    var results: Int = 3

    @OptionGroup var decoding: DecodingOptions

    @OptionGroup var reading: ImageReadingOptions

    @Option(help: "Which views to caption: 'frontal' (PA, AP and their variants, and unknown views) or 'all'.")
    var views: ViewSelection = .frontal

    @Flag(help: "Print JSON (an array with one object per image) instead of text, at the end.")
    var json = false

    @Option(help: ArgumentHelp("Also write JSON Lines: one object per image, written as each image finishes.",
                               valueName: "file"))
    var jsonl: String?

    @Option(help: ArgumentHelp("Write attention heat maps of each image's top result into this folder.",
                               valueName: "dir"))
    var heatmaps: String?

    @OptionGroup var heatmapOptions: HeatmapOptions

    @Option(name: .customLong("dicom-sr"),
            help: ArgumentHelp("For each DICOM image, write a DICOM Structured Report (Enhanced SR) of its "
                               + "results into this folder.", valueName: "dir"))
    var dicomSR: String?

    @Flag(help: "Search folders' subfolders too.")
    var recursive = false

    @Flag(help: "No progress display.")
    var quiet = false

    @Argument(help: "Image files (DICOM, JPEG, PNG) and folders of them.")
    var images: [String]

    func validate() throws {
        if heatmaps == nil, let option = heatmapOptions.given.first {
            throw ValidationError("\(option) needs --heatmaps DIR (it sets how the heat maps are drawn)")
        }
    }

    func run() throws {
        let requested = try decoding.parameters(beamWidth: beam, maxResults: results,
                                                returnAttention: heatmaps != nil)

        let inputs = ImageInputs(arguments: images, recursive: recursive)
        for folder in inputs.emptyFolders {
            FileHandle.standardError.write(Data("\(folder): warning: no images (DICOM, JPEG, PNG) in this folder\n".utf8))
        }
        guard !inputs.items.isEmpty else {
            Self.listNonImages(inputs)
            throw CaptionRunError("no images to caption")
        }

        // Fail now, not after the run, when an output cannot be written.
        let lines = try jsonl.map { try JSONLinesWriter(path: $0) }
        let captionModel = try CaptionModel(contentsOfFile: model)
        let parameters = try decoding.applyingModelDefaults(to: requested, of: captionModel)
        var heatmapWriter = try heatmaps.map {
            do { return try HeatmapWriter(directory: $0, model: captionModel, options: heatmapOptions) } catch {
                throw CaptionRunError("cannot create the --heatmaps folder \($0): \(error.localizedDescription)")
            }
        }
        var srWriter = try dicomSR.map {
            do { return try DicomSRWriter(directory: $0, model: captionModel, modelPath: model) } catch {
                throw CaptionRunError("cannot prepare --dicom-sr \($0): \(error)")
            }
        }
        var notDicom = 0
        let session = try CaptionSession(model: captionModel)
        let progress = ProgressReporter(total: inputs.items.count, label: "caption",
                                        style: inputs.items.count > 1 ? .automatic(quiet: quiet) : .quiet)

        var reports: [ImageReport] = []
        var failures = 0
        var skipped = 0
        progress.update(done: 0, failed: 0)
        for item in inputs.items {
            var report = ImageReport(image: item.path, results: [], findings: [:], error: item.problem)
            report.dicomSRRequested = dicomSR != nil
            report.dicomHeatmapsRequested = dicomSR != nil && heatmaps != nil
            if item.problem == nil {
                do {
                    let image = try ImageFile.read(item.path, maxPixels: reading.maxPixels)
                    report.view = image.view
                    for note in image.notes { progress.message("\(item.path): note: \(note)") }
                    if views.admits(image.view) {
                        try caption(image, path: item.path, session: session, parameters: parameters,
                                    heatmapWriter: &heatmapWriter, srWriter: &srWriter, into: &report)
                        if srWriter != nil && image.kind != .dicom {
                            notDicom += 1
                            progress.message("\(item.path): note: no DICOM SR: this is a \(image.kind.rawValue) "
                                             + "file; --dicom-sr writes one for DICOM images only")
                        }
                    } else {
                        let view = image.view ?? ""
                        report.skipped = "view \(view) (\(ViewClass(view: view).rawValue)) is not frontal; "
                            + "--views all captions it"
                        skipped += 1
                        progress.message("\(item.path): skipped: \(report.skipped!)")
                    }
                } catch {
                    report.error = report.error ?? "\(error)"
                }
            }
            if let error = report.error {
                failures += 1
                progress.message("\(item.path): error: \(error)")
            }
            reports.append(report)
            if let lines {
                do { try lines.append(report) } catch {
                    throw CaptionRunError("cannot write to \(lines.path): \(error.localizedDescription)")
                }
            }
            if !json && (report.error == nil || !report.results.isEmpty) && report.skipped == nil {
                progress.clearBar()
                printText(report, labels: captionModel.labels)
                fflush(nil)  // every output stream: stdout, without naming the C global
            }
            progress.update(done: reports.count, failed: failures)
        }
        progress.finish()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        }
        Self.listNonImages(inputs)
        if notDicom > 0 {
            let message = "caption: --dicom-sr: \(notDicom) captioned image\(notDicom == 1 ? " is" : "s are") not DICOM "
                + "and got no SR\n"
            FileHandle.standardError.write(Data(message.utf8))
        }
        if skipped > 0 {
            let message = "caption: \(skipped) image\(skipped == 1 ? "" : "s") skipped for the view (--views all captions them)\n"
            FileHandle.standardError.write(Data(message.utf8))
        }
        if failures > 0 {
            let message = "caption: \(failures) of \(reports.count) image\(reports.count == 1 ? "" : "s") failed\n"
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode(1)
        }
    }

    /// The files of the folders that are not images, and the entries not read, on standard error.
    static func listNonImages(_ inputs: ImageInputs) {
        var text = ""
        if !inputs.nonImages.isEmpty {
            let count = inputs.nonImages.count
            text += "caption: \(count) file\(count == 1 ? " is" : "s are") not \(count == 1 ? "an image" : "images"), "
                + "not captioned: neither content nor extension is DICOM, JPEG or PNG:\n"
            for path in inputs.nonImages { text += "  \(path)\n" }
        }
        var unread: [String] = []
        if inputs.hiddenCount > 0 { unread.append("\(inputs.hiddenCount) hidden entr\(inputs.hiddenCount == 1 ? "y" : "ies")") }
        if inputs.subfolderCount > 0 {
            unread.append("\(inputs.subfolderCount) subfolder\(inputs.subfolderCount == 1 ? "" : "s") (--recursive searches them)")
        }
        if !unread.isEmpty { text += "caption: not read: " + unread.joined(separator: ", ") + "\n" }
        if !text.isEmpty { FileHandle.standardError.write(Data(text.utf8)) }
    }

    /// Captions one decoded image into `report` (results, findings, heat maps); throws on the first failure,
    /// leaving what was done in `report` (heat-map errors keep the results).
    private func caption(_ image: DecodedImage, path: String, session: CaptionSession, parameters: GenerationParameters,
                         heatmapWriter: inout HeatmapWriter?, srWriter: inout DicomSRWriter?,
                         into report: inout ImageReport) throws {
        let (captions, findings) = try image.bytes.withUnsafeBytes {
            try session.generateWithFindings(pixels: $0, image: image.descriptor, parameters: parameters)
        }
        report.results = captions.map(ResultReport.init)
        if let findings {
            report.findings = Dictionary(uniqueKeysWithValues: zip(session.model.labels, findings))
        }
        var overview: RGBCanvas? = nil
        if heatmapWriter != nil, let top = captions.first {
            do {
                (report.heatmaps, overview) = try heatmapWriter!.write(imagePath: path, image: image, caption: top)
            } catch {
                throw CaptionRunError("heat maps: \(error)")
            }
        }
        if srWriter != nil && image.kind == .dicom {
            let written = try srWriter!.write(sourcePath: path, captions: captions, findings: findings)
            report.dicomSR = written.path
            if let overview {
                report.dicomHeatmaps = try srWriter!.writeCapture(sourcePath: path, srPath: written.path,
                                                                  overview: overview)
            }
        }
    }

    private func printText(_ report: ImageReport, labels: [String]) {
        print(report.image)
        for (rank, result) in report.results.enumerated() {
            let flag = result.truncated ? "  (truncated)" : ""
            print(String(format: "  %d. [p=%.3g] %@%@", rank + 1, result.probability, result.text, flag))
        }
        if !labels.isEmpty && !report.findings.isEmpty {
            // The likely findings, most probable first (--json / --jsonl carry every label).
            let likely = labels.compactMap { label in report.findings[label].map { (label, $0) } }
                .filter { $0.1 >= 0.5 }.sorted { $0.1 > $1.1 }
            let listed = likely.map { String(format: "%@ %.2f", $0.0, $0.1) }
            print("  findings (p >= 0.5): " + (listed.isEmpty ? "none" : listed.joined(separator: ", ")))
        }
        if let heatmaps = report.heatmaps { print("  heat maps: \(heatmaps)/") }
        if let dicomSR = report.dicomSR { print("  DICOM SR: \(dicomSR)") }
        if let dicomHeatmaps = report.dicomHeatmaps { print("  DICOM heat-map image: \(dicomHeatmaps)") }
    }
}

/// JSON shape of one image's results (`--json` array element, `--jsonl` line). `error` (null when the image
/// succeeded), `view` (DICOM ViewPosition, null when unknown) and `skipped` (why it was not captioned, null
/// when it was not skipped) are always present; `heatmaps` (the image's heat-map folder) only with --heatmaps,
/// `dicom_sr` (the SR written, null for an image that got none) only with --dicom-sr, and `dicom_heatmaps`
/// (the Secondary Capture of the heat-map sheet, or null) only with both.
struct ImageReport: Encodable {
    var image: String
    var results: [ResultReport]
    var findings: [String: Float]
    var error: String?
    var view: String?
    var skipped: String?
    var heatmaps: String?
    var dicomSR: String?
    var dicomHeatmaps: String?
    /// Whether the run writes heat-map images (so `dicom_heatmaps` is in the JSON).
    var dicomHeatmapsRequested = false
    /// Whether the run writes SRs (so `dicom_sr` is in the JSON, null when this image got none).
    var dicomSRRequested = false

    init(image: String, results: [ResultReport], findings: [String: Float], error: String?) {
        self.image = image
        self.results = results
        self.findings = findings
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case image, results, findings, error, view, skipped, heatmaps, dicomSR = "dicom_sr", dicomHeatmaps = "dicom_heatmaps"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(image, forKey: .image)
        try container.encode(results, forKey: .results)
        try container.encode(findings.mapValues(jsonNumber), forKey: .findings)
        try container.encode(error, forKey: .error)
        try container.encode(view, forKey: .view)
        try container.encode(skipped, forKey: .skipped)
        try container.encodeIfPresent(heatmaps, forKey: .heatmaps)
        if dicomSRRequested { try container.encode(dicomSR, forKey: .dicomSR) }
        if dicomHeatmapsRequested { try container.encode(dicomHeatmaps, forKey: .dicomHeatmaps) }
    }
}

/// JSON shape of one ranked impression.
struct ResultReport: Encodable {
    var text: String
    var tokens: [Int]
    var logProb: Double
    var probability: Double
    var truncated: Bool

    init(_ caption: Caption) {
        text = caption.text
        tokens = caption.tokens
        logProb = caption.logProbability
        probability = exp(caption.logProbability)
        truncated = caption.truncated
    }

    enum CodingKeys: String, CodingKey {
        case text, tokens, logProb = "log_prob", probability, truncated
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(text, forKey: .text)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(jsonNumber(logProb), forKey: .logProb)
        try container.encode(jsonNumber(probability), forKey: .probability)
        try container.encode(truncated, forKey: .truncated)
    }
}

/// `value` for JSON output, or nil (written as null) when it is NaN or infinite: JSON has no such numbers and
/// `JSONEncoder` would fail the whole run over one of them.
func jsonNumber<Value: BinaryFloatingPoint>(_ value: Value) -> Value? {
    value.isFinite ? value : nil
}

/// A `caption` run that cannot start (e.g. an output file cannot be created); printed as "Error: <message>".
struct CaptionRunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
