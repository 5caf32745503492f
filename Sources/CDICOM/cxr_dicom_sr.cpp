// cxr_dicom_sr.h implemented with DCMTK's dcmsr. Every C++ exception and every DCMTK error condition is caught
// here: the C interface returns 0 and a message.
//
// The document is an Enhanced SR (numeric items need Enhanced SR; Basic Text SR has text and codes only):
//
//   CONTAINER (18748-4, LN, "Diagnostic imaging report")
//     CONTAINS TEXT (NOTCLINICAL, 99CXRCAPTION, "Not for clinical use")     when the metadata says so
//     CONTAINS CONTAINER (121072, DCM, "Impressions")
//       CONTAINS TEXT (121073, DCM, "Impression") = the text         one per ranked impression, best first
//         HAS PROPERTIES NUM (RANK, 99CXRCAPTION, "Rank") = 1, 2, ...
//         HAS PROPERTIES NUM (PROBABILITY, 99CXRCAPTION, "Probability") = exp(log p), unit "1"
//     CONTAINS CONTAINER (121070, DCM, "Findings")
//       CONTAINS NUM (FINDING-<i>, 99CXRCAPTION, "<label>") = probability, unit "1"    one per label
//     CONTAINS CONTAINER (ALGORITHM, 99CXRCAPTION, "Algorithm")
//       CONTAINS TEXT (111001, DCM, "Algorithm Name"), (111003, DCM, "Algorithm Version"),
//                TEXT (MODELSHA256, ...), description, intended use, disclaimer, licence, training data, software
//     CONTAINS IMAGE (121112, DCM, "Source of Measurement") = the source image's SOP Class / Instance
//
// The Current Requested Procedure Evidence Sequence names the source's Study, Series and SOP Instance UIDs;
// the SR joins the source's study (same Study Instance UID) in a new series, with new Series and SOP Instance
// UIDs. The source's Patient, General Study and Patient Study module attributes are copied as they are
// (converted to UTF-8: the SR is written in ISO_IR 192, since impressions and labels may be any script).
#include "cxr_dicom_sr.h"
#include "error_reporting.hpp"

#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmsr/dsrdoc.h>
#include <dcmtk/oflog/oflog.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace {

const char *const kScheme = "99CXRCAPTION";  // private coding scheme (PS3.16 8.2: "99" prefix)

using cxr_dicom_internal::copy_text;
using cxr_dicom_internal::fail;

/// A failure with its kind, raised inside and turned into the C error at the boundary.
struct SRError {
    cxr_dicom_error_kind kind;
    std::string message;
};

void check(const OFCondition &condition, const std::string &what) {
    if (condition.bad()) throw SRError{CXR_DICOM_INVALID, what + ": " + condition.text()};
}

std::string text_or_empty(const char *text) { return text == nullptr ? std::string() : std::string(text); }

/// A DS value (at most 16 characters) for a probability or a rank.
std::string decimal(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", value);
    return buffer;
}

/// The source's value of a UID the SR must reference; a missing one is an error that names it.
std::string required_uid(DcmDataset &dataset, const DcmTagKey &tag, const char *name, const std::string &path) {
    OFString value;
    if (dataset.findAndGetOFString(tag, value).bad() || value.empty()) {
        throw SRError{CXR_DICOM_MISSING_ATTRIBUTE,
                      path + ": the DICOM file has no " + name + ", which the SR must reference"};
    }
    return value.c_str();
}

/// Builds the content tree: each add* leaves the cursor on the parent it was called on.
class Tree {
public:
    explicit Tree(DSRDocumentTree &tree) : tree_(tree) {}

    void root(const DSRCodedEntryValue &concept) {
        if (tree_.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container) == 0) {
            throw SRError{CXR_DICOM_INVALID, "SR: cannot add the root container"};
        }
        check(tree_.getCurrentContentItem().setConceptName(concept), "SR: root concept name");
    }

    /// Adds a child and leaves the cursor on it (call up() when done with its children).
    void open(DSRTypes::E_RelationshipType relation, DSRTypes::E_ValueType type, const DSRCodedEntryValue &concept) {
        check(tree_.addChildContentItem(relation, type, concept),
              std::string("SR: cannot add \"") + concept.getCodeMeaning().c_str() + "\"");
    }

    void up() {
        if (tree_.goUp() == 0) throw SRError{CXR_DICOM_INVALID, "SR: tree cursor lost"};
    }

    void text(DSRTypes::E_RelationshipType relation, const DSRCodedEntryValue &concept, const std::string &value,
              bool keep_open = false) {
        if (value.empty() && !keep_open) return;
        open(relation, DSRTypes::VT_Text, concept);
        check(tree_.getCurrentContentItem().setStringValue(value.empty() ? "(empty)" : value.c_str()),
              std::string("SR: text of \"") + concept.getCodeMeaning().c_str() + "\"");
        if (!keep_open) up();
    }

    void number(DSRTypes::E_RelationshipType relation, const DSRCodedEntryValue &concept, const std::string &value,
                const DSRCodedEntryValue &unit) {
        open(relation, DSRTypes::VT_Num, concept);
        check(tree_.getCurrentContentItem().setNumericValue(DSRNumericMeasurementValue(value.c_str(), unit)),
              std::string("SR: value of \"") + concept.getCodeMeaning().c_str() + "\"");
        up();
    }

    void image(DSRTypes::E_RelationshipType relation, const DSRCodedEntryValue &concept, const std::string &sop_class,
               const std::string &sop_instance) {
        open(relation, DSRTypes::VT_Image, concept);
        check(tree_.getCurrentContentItem().setImageReference(
                  DSRImageReferenceValue(sop_class.c_str(), sop_instance.c_str())),
              "SR: source image reference");
        up();
    }

private:
    DSRDocumentTree &tree_;
};

DSRCodedEntryValue own(const char *value, const std::string &meaning) {
    // Code meanings are LO (64 characters); a longer label is cut (its full text is in the finding's value).
    return DSRCodedEntryValue(value, kScheme, meaning.substr(0, 64).c_str());
}

/// The source's Patient, General Study and Patient Study module attributes (PS3.3 C.7.1.1, C.7.2.1, C.7.2.2).
const DcmTagKey kCopiedTags[] = {
    DCM_PatientName, DCM_PatientID, DCM_IssuerOfPatientID, DCM_IssuerOfPatientIDQualifiersSequence,
    DCM_PatientBirthDate, DCM_PatientBirthTime, DCM_PatientSex, DCM_OtherPatientIDsSequence,
    DCM_OtherPatientNames, DCM_EthnicGroup, DCM_PatientComments, DCM_PatientSpeciesDescription,
    DCM_PatientIdentityRemoved, DCM_DeidentificationMethod, DCM_DeidentificationMethodCodeSequence,
    DCM_StudyInstanceUID, DCM_StudyDate, DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID,
    DCM_AccessionNumber, DCM_IssuerOfAccessionNumberSequence, DCM_StudyDescription, DCM_ProcedureCodeSequence,
    DCM_PhysiciansOfRecord, DCM_NameOfPhysiciansReadingStudy, DCM_ReferencedStudySequence,
    DCM_AdmittingDiagnosesDescription, DCM_PatientAge, DCM_PatientSize, DCM_PatientWeight,
    DCM_Occupation, DCM_AdditionalPatientHistory,
};

/// The captioned DICOM file: its attributes (elements over 4 KiB, the pixel data, are not loaded), in UTF-8,
/// and the UIDs an object about it must reference.
struct Source {
    DcmFileFormat file;
    std::string study, series, instance, sop_class;

    explicit Source(const std::string &path) {
        OFCondition loaded = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096);
        if (loaded.bad()) throw SRError{CXR_DICOM_NOT_DICOM, path + ": cannot be read as DICOM: " + loaded.text()};
        DcmDataset &dataset = *file.getDataset();
        study = required_uid(dataset, DCM_StudyInstanceUID, "StudyInstanceUID (0020,000D)", path);
        series = required_uid(dataset, DCM_SeriesInstanceUID, "SeriesInstanceUID (0020,000E)", path);
        instance = required_uid(dataset, DCM_SOPInstanceUID, "SOPInstanceUID (0008,0018)", path);
        sop_class = required_uid(dataset, DCM_SOPClassUID, "SOPClassUID (0008,0016)", path);
        OFString charset;
        dataset.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset);
        if (!charset.empty() && charset != "ISO_IR 192" && charset != "ISO_IR 6") {
            OFCondition converted = dataset.convertToUTF8();
            if (converted.bad()) {
                throw SRError{CXR_DICOM_UNSUPPORTED, path + ": its SpecificCharacterSet \"" +
                                                         std::string(charset.c_str()) +
                                                         "\" cannot be converted to UTF-8: " + converted.text()};
            }
        }
    }

    DcmDataset &dataset() { return *file.getDataset(); }

    /// Copies the Patient, General Study and Patient Study module attributes into `target`, replacing its own.
    void copy_patient_and_study(DcmDataset &target) {
        for (const DcmTagKey &tag : kCopiedTags) {
            DcmElement *element = nullptr;
            if (dataset().findAndGetElement(tag, element).good() && element != nullptr) {
                check(target.insert(OFstatic_cast(DcmElement *, element->clone()), OFTrue),
                      std::string("copying ") + DcmTag(tag).getTagName());
            }
        }
    }
};

std::string write_sr(const cxr_sr_request &request) {
    const std::string source_path = text_or_empty(request.source_path);
    const std::string output_path = text_or_empty(request.output_path);
    if (source_path.empty() || output_path.empty()) {
        throw SRError{CXR_DICOM_INTERNAL, "cxr_dicom_write_sr: no source or output path"};
    }
    Source source(source_path);
    const std::string &study = source.study, &series = source.series, &instance = source.instance;
    const std::string &sop_class = source.sop_class;

    DSRDocument document(DSRTypes::DT_EnhancedSR);
    check(document.createNewSeriesInStudy(study.c_str()), "SR: new series in the source's study");
    check(document.setSpecificCharacterSetType(DSRTypes::CS_UTF8), "SR: character set");
    check(document.setPreliminaryFlag(DSRTypes::PF_Preliminary), "SR: preliminary flag");
    check(document.setManufacturer("cxrcaption"), "SR: Manufacturer");
    const std::string model_name = text_or_empty(request.model_name);
    if (!model_name.empty()) check(document.setManufacturerModelName(model_name.substr(0, 64).c_str()), "SR: model name");
    const std::string software = text_or_empty(request.software_version);
    if (!software.empty()) check(document.setSoftwareVersions(software.substr(0, 64).c_str()), "SR: SoftwareVersions");
    const bool not_clinical = request.not_for_clinical_use != 0;
    check(document.setSeriesDescription(not_clinical ? "cxrcaption AI impressions - NOT FOR CLINICAL USE"
                                                     : "cxrcaption AI impressions"),
          "SR: SeriesDescription");
    check(document.setSeriesNumber("9901"), "SR: SeriesNumber");
    check(document.setInstanceNumber("1"), "SR: InstanceNumber");
    check(document.getCurrentRequestedProcedureEvidence().addItem(study.c_str(), series.c_str(), sop_class.c_str(),
                                                                  instance.c_str()),
          "SR: evidence of the source image");

    Tree tree(document.getTree());
    using T = DSRTypes;
    tree.root(DSRCodedEntryValue("18748-4", "LN", "Diagnostic imaging report"));
    const std::string disclaimer = text_or_empty(request.disclaimer);
    if (not_clinical) {
        tree.text(T::RT_contains, own("NOTCLINICAL", "Not for clinical use"),
                  "NOT FOR CLINICAL USE." + (disclaimer.empty() ? std::string() : " " + disclaimer));
    }
    const DSRCodedEntryValue unit_one("1", "UCUM", "no units");
    tree.open(T::RT_contains, T::VT_Container, DSRCodedEntryValue("121072", "DCM", "Impressions"));
    for (int32_t i = 0; i < request.impression_count; i++) {
        const cxr_sr_impression &impression = request.impressions[i];
        tree.text(T::RT_contains, DSRCodedEntryValue("121073", "DCM", "Impression"),
                  text_or_empty(impression.text), /*keep_open=*/true);
        tree.number(T::RT_hasProperties, own("RANK", "Rank"), decimal(i + 1), unit_one);
        tree.number(T::RT_hasProperties, own("PROBABILITY", "Probability"), decimal(impression.probability), unit_one);
        tree.up();
    }
    tree.up();
    if (request.finding_count > 0) {
        tree.open(T::RT_contains, T::VT_Container, DSRCodedEntryValue("121070", "DCM", "Findings"));
        for (int32_t i = 0; i < request.finding_count; i++) {
            const cxr_sr_finding &finding = request.findings[i];
            const std::string code = "FINDING-" + std::to_string(i + 1);
            tree.number(T::RT_contains, own(code.c_str(), text_or_empty(finding.label)), decimal(finding.probability),
                        unit_one);
        }
        tree.up();
    }
    tree.open(T::RT_contains, T::VT_Container, own("ALGORITHM", "Algorithm"));
    tree.text(T::RT_contains, DSRCodedEntryValue("111001", "DCM", "Algorithm Name"), model_name);
    tree.text(T::RT_contains, DSRCodedEntryValue("111003", "DCM", "Algorithm Version"),
              text_or_empty(request.model_version));
    tree.text(T::RT_contains, own("MODELSHA256", "Model file SHA-256"), text_or_empty(request.model_sha256));
    tree.text(T::RT_contains, own("DESCRIPTION", "Model description"), text_or_empty(request.model_description));
    tree.text(T::RT_contains, own("INTENDEDUSE", "Intended use"), text_or_empty(request.intended_use));
    tree.text(T::RT_contains, own("DISCLAIMER", "Disclaimer"), disclaimer);
    tree.text(T::RT_contains, own("LICENSE", "License"), text_or_empty(request.license));
    tree.text(T::RT_contains, own("TRAININGDATA", "Training data"), text_or_empty(request.training_data));
    tree.text(T::RT_contains, own("SOFTWARE", "Software"), software);
    tree.up();
    tree.image(T::RT_contains, DSRCodedEntryValue("121112", "DCM", "Source of Measurement"), sop_class, instance);

    DcmFileFormat output;
    DcmDataset &written = *output.getDataset();
    check(document.write(written), "SR: building the dataset");
    source.copy_patient_and_study(written);
    OFString uid;
    document.getSOPInstanceUID(uid);
    OFCondition saved = output.saveFile(output_path.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) throw SRError{CXR_DICOM_INVALID, output_path + ": cannot write the SR: " + saved.text()};
    return uid.c_str();
}

/// The Secondary Capture Image IOD (PS3.3 A.8.1) with the picture as 8-bit RGB.
std::string write_capture(const cxr_capture_request &request) {
    const std::string source_path = text_or_empty(request.source_path);
    const std::string output_path = text_or_empty(request.output_path);
    if (source_path.empty() || output_path.empty() || request.rgb == nullptr || request.width <= 0 ||
        request.height <= 0 || request.width > 65535 || request.height > 65535) {
        throw SRError{CXR_DICOM_INTERNAL, "cxr_dicom_write_capture: no paths, no pixels or bad sides"};
    }
    Source source(source_path);
    DcmFileFormat output;
    DcmDataset &d = *output.getDataset();
    char uid[100];
    const std::string instance = dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
    const std::string series = dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT);
    OFString date, time;
    DcmDate::getCurrentDate(date);
    DcmTime::getCurrentTime(time);
    auto put = [&](const DcmTagKey &tag, const std::string &value) {
        if (!value.empty()) check(d.putAndInsertString(tag, value.c_str()), std::string("SC: ") + DcmTag(tag).getTagName());
    };
    put(DCM_SpecificCharacterSet, "ISO_IR 192");
    put(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
    put(DCM_SOPInstanceUID, instance);
    put(DCM_InstanceCreationDate, date.c_str());
    put(DCM_InstanceCreationTime, time.c_str());
    put(DCM_ContentDate, date.c_str());
    put(DCM_ContentTime, time.c_str());
    put(DCM_StudyInstanceUID, source.study);
    put(DCM_SeriesInstanceUID, series);
    put(DCM_Modality, "OT");
    put(DCM_SeriesNumber, "9902");
    put(DCM_InstanceNumber, "1");
    put(DCM_SeriesDescription, text_or_empty(request.series_description).substr(0, 64));
    put(DCM_ConversionType, "WSD");
    put(DCM_Manufacturer, "cxrcaption");
    put(DCM_ManufacturerModelName, text_or_empty(request.model_name).substr(0, 64));
    put(DCM_SoftwareVersions, text_or_empty(request.software_version).substr(0, 64));
    put(DCM_SecondaryCaptureDeviceManufacturer, "cxrcaption");
    put(DCM_ImageType, "DERIVED\\SECONDARY");
    put(DCM_DerivationDescription, text_or_empty(request.derivation_description).substr(0, 1024));
    put(DCM_BurnedInAnnotation, "YES");  // the sheet carries text (the file name, the caption)
    check(d.insertEmptyElement(DCM_PatientOrientation), "SC: PatientOrientation");
    DcmItem *reference = nullptr;
    check(d.findOrCreateSequenceItem(DCM_SourceImageSequence, reference, 0), "SC: SourceImageSequence");
    check(reference->putAndInsertString(DCM_ReferencedSOPClassUID, source.sop_class.c_str()), "SC: source class");
    check(reference->putAndInsertString(DCM_ReferencedSOPInstanceUID, source.instance.c_str()), "SC: source instance");
    check(d.putAndInsertUint16(DCM_SamplesPerPixel, 3), "SC: SamplesPerPixel");
    put(DCM_PhotometricInterpretation, "RGB");
    check(d.putAndInsertUint16(DCM_PlanarConfiguration, 0), "SC: PlanarConfiguration");
    check(d.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(request.height)), "SC: Rows");
    check(d.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(request.width)), "SC: Columns");
    check(d.putAndInsertUint16(DCM_BitsAllocated, 8), "SC: BitsAllocated");
    check(d.putAndInsertUint16(DCM_BitsStored, 8), "SC: BitsStored");
    check(d.putAndInsertUint16(DCM_HighBit, 7), "SC: HighBit");
    check(d.putAndInsertUint16(DCM_PixelRepresentation, 0), "SC: PixelRepresentation");
    const unsigned long bytes = 3ul * static_cast<unsigned long>(request.width) * static_cast<unsigned long>(request.height);
    check(d.putAndInsertUint8Array(DCM_PixelData, request.rgb, bytes), "SC: PixelData");
    source.copy_patient_and_study(d);
    OFCondition saved = output.saveFile(output_path.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) throw SRError{CXR_DICOM_INVALID, output_path + ": cannot write the image: " + saved.text()};
    return instance;
}

} // namespace

extern "C" int cxr_dicom_write_sr(const cxr_sr_request *request, char sop_instance_uid[65], cxr_dicom_error *error) {
    if (error != nullptr) {
        error->kind = CXR_DICOM_OK;
        error->message[0] = 0;
    }
    if (request == nullptr || sop_instance_uid == nullptr ||
        (request->impression_count > 0 && request->impressions == nullptr) ||
        (request->finding_count > 0 && request->findings == nullptr) || request->impression_count < 0 ||
        request->finding_count < 0) {
        fail(error, CXR_DICOM_INTERNAL, "cxr_dicom_write_sr: no request, no UID buffer or bad counts");
        return 0;
    }
    sop_instance_uid[0] = 0;
    try {
        // The CLI reports every problem itself, once, with the file's name.
        static const bool silenced = [] {
            OFLog::configure(OFLogger::OFF_LOG_LEVEL);
            return true;
        }();
        (void)silenced;
        copy_text(sop_instance_uid, 65, write_sr(*request));
        return 1;
    } catch (const SRError &e) {
        fail(error, e.kind, e.message);
    } catch (const std::bad_alloc &) {
        fail(error, CXR_DICOM_INTERNAL, "out of memory while writing the DICOM SR");
    } catch (const std::exception &e) {
        fail(error, CXR_DICOM_INTERNAL, std::string("writing the DICOM SR failed: ") + e.what());
    } catch (...) {
        fail(error, CXR_DICOM_INTERNAL, "writing the DICOM SR failed (unknown exception)");
    }
    return 0;
}

extern "C" int cxr_dicom_write_capture(const cxr_capture_request *request, char sop_instance_uid[65],
                                       cxr_dicom_error *error) {
    if (error != nullptr) {
        error->kind = CXR_DICOM_OK;
        error->message[0] = 0;
    }
    if (request == nullptr || sop_instance_uid == nullptr) {
        fail(error, CXR_DICOM_INTERNAL, "cxr_dicom_write_capture: no request or no UID buffer");
        return 0;
    }
    sop_instance_uid[0] = 0;
    try {
        copy_text(sop_instance_uid, 65, write_capture(*request));
        return 1;
    } catch (const SRError &e) {
        fail(error, e.kind, e.message);
    } catch (const std::bad_alloc &) {
        fail(error, CXR_DICOM_INTERNAL, "out of memory while writing the DICOM image");
    } catch (const std::exception &e) {
        fail(error, CXR_DICOM_INTERNAL, std::string("writing the DICOM image failed: ") + e.what());
    } catch (...) {
        fail(error, CXR_DICOM_INTERNAL, "writing the DICOM image failed (unknown exception)");
    }
    return 0;
}
