import CDICOM
import Foundation
import XCTest

/// cxr_dicom_write_sr (CDICOM, DCMTK's dcmsr): every failure comes back as 0 and a message, never as a C++
/// exception, and a written SR reads back with DCMTK's own reader (cxr_dicom_read refuses it as an image:
/// it has no pixels). Tests/python/test_dicom_sr_cli.py checks the content through the CLI.
final class DicomSRWriterTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let source = repository.appendingPathComponent("Tests/integrations/fixtures/rg1_small.dcm").path

    /// (ok, SOP Instance UID, error kind, message) of cxr_dicom_write_sr for `source` -> `output`.
    func write(source: String, output: String, impressions: [(String, Double)] = [("no acute disease.", 0.5)])
        -> (Bool, String, Int32, String) {
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer { strings.forEach { free($0) } }
        func c(_ text: String) -> UnsafePointer<CChar> {
            let copy = strdup(text)!
            strings.append(copy)
            return UnsafePointer(copy)
        }
        let items = impressions.map { cxr_sr_impression(text: c($0.0), probability: $0.1) }
        let findings = [cxr_sr_finding(label: c("cardiomegaly"), probability: 0.25)]
        var uid = [CChar](repeating: 0, count: 65)
        var error = cxr_dicom_error()
        let ok = items.withUnsafeBufferPointer { itemBuffer in
            findings.withUnsafeBufferPointer { findingBuffer in
                var request = cxr_sr_request(
                    source_path: c(source), output_path: c(output), impressions: itemBuffer.baseAddress,
                    impression_count: Int32(itemBuffer.count), findings: findingBuffer.baseAddress, finding_count: 1,
                    model_name: c("test model"), model_version: c("1"), model_sha256: c(String(repeating: "0", count: 64)),
                    model_description: nil, intended_use: nil, disclaimer: c("Not for clinical use."), license: nil,
                    training_data: nil, not_for_clinical_use: 1, software_version: c("cxrcaption test"))
                return cxr_dicom_write_sr(&request, &uid, &error)
            }
        }
        let message = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let uidText = String(decoding: uid.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (ok == 1, uidText, error.kind, message)
    }

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cxr-sr-\(getpid())-\(name)").path
    }

    func testWritesAnSRWithANewUID() throws {
        let output = temporary("ok.sr.dcm")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (ok, uid, _, message) = write(source: Self.source, output: output)
        XCTAssertTrue(ok, message)
        XCTAssertFalse(uid.isEmpty)
        XCTAssertLessThanOrEqual(uid.count, 64)
        XCTAssertTrue(uid.allSatisfy { $0.isNumber || $0 == "." }, uid)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
        XCTAssertEqual(String(decoding: bytes[128..<132], as: UTF8.self), "DICM")
        XCTAssertNotNil(bytes.range(of: Data(uid.utf8)), "the file carries its SOP Instance UID")
        XCTAssertNotNil(bytes.range(of: Data("no acute disease.".utf8)))
        // A second SR of the same image is a new object.
        let (again, secondUID, _, _) = write(source: Self.source, output: output)
        XCTAssertTrue(again)
        XCTAssertNotEqual(uid, secondUID)
    }

    func testFailuresAreMessagesNotExceptions() {
        let output = temporary("never.sr.dcm")
        let missing = write(source: temporary("no-such-file.dcm"), output: output)
        XCTAssertFalse(missing.0)
        XCTAssertEqual(missing.2, Int32(CXR_DICOM_NOT_DICOM.rawValue))
        XCTAssertTrue(missing.3.contains("cannot be read as DICOM"), missing.3)

        let png = Self.repository.appendingPathComponent("Tests/CXRKitTests/Fixtures/intake/png_gray8.png").path
        let notDicom = write(source: png, output: output)
        XCTAssertFalse(notDicom.0)
        XCTAssertTrue(notDicom.3.contains(png), notDicom.3)

        let unwritable = write(source: Self.source, output: "/proc/cxr-no-such-dir/out.sr.dcm")
        XCTAssertFalse(unwritable.0)
        XCTAssertEqual(unwritable.2, Int32(CXR_DICOM_INVALID.rawValue))
        XCTAssertTrue(unwritable.3.contains("cannot write the SR"), unwritable.3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))

        var uid = [CChar](repeating: 0, count: 65)
        var error = cxr_dicom_error()
        XCTAssertEqual(cxr_dicom_write_sr(nil, &uid, &error), 0)
        XCTAssertEqual(error.kind, Int32(CXR_DICOM_INTERNAL.rawValue))
    }

    func testSecondaryCaptureFailuresAreMessages() {
        var uid = [CChar](repeating: 0, count: 65)
        var error = cxr_dicom_error()
        XCTAssertEqual(cxr_dicom_write_capture(nil, &uid, &error), 0)
        XCTAssertEqual(error.kind, Int32(CXR_DICOM_INTERNAL.rawValue))
        let pixels = [UInt8](repeating: 128, count: 3 * 4 * 2)
        let output = temporary("capture.dcm")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let ok = pixels.withUnsafeBufferPointer { rgb in
            Self.source.withCString { source in
                output.withCString { path in
                    var request = cxr_capture_request(source_path: source, output_path: path, rgb: rgb.baseAddress,
                                                      width: 4, height: 2, series_description: nil,
                                                      derivation_description: nil, software_version: nil,
                                                      model_name: nil)
                    let written = cxr_dicom_write_capture(&request, &uid, &error)
                    request.width = 0
                    XCTAssertEqual(cxr_dicom_write_capture(&request, &uid, &error), 0, "a side of 0")
                    return written
                }
            }
        }
        XCTAssertEqual(ok, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output))
    }

    func testEmptyImpressionTextIsWritten() {
        // A model can end at once (<end> first): the impression is "", which TEXT items cannot hold empty.
        let output = temporary("empty.sr.dcm")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (ok, _, _, message) = write(source: Self.source, output: output, impressions: [("", 0.9)])
        XCTAssertTrue(ok, message)
    }
}
