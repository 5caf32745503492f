// DICOM output for the CLI (caption --dicom-sr): DCMTK's dcmsr and dcmdata behind a C interface, so Swift
// never sees C++ (nor its exceptions). One Enhanced SR per captioned DICOM image: the ranked impressions with
// their probabilities, the findings head's probabilities, the model's identity and disclaimer, a reference to
// the source image, and the source's patient and study attributes; with --heatmaps also a Secondary Capture
// of the heat-map overview.
#ifndef CXR_DICOM_SR_H
#define CXR_DICOM_SR_H

#include <stdint.h>

#include "cxr_dicom.h"

#ifdef __cplusplus
extern "C" {
#endif

/// One ranked impression: UTF-8 text and its probability (exp of the caption's log-probability).
typedef struct {
    const char *text;
    double probability;
} cxr_sr_impression;

/// One findings-head label (UTF-8) and its probability.
typedef struct {
    const char *label;
    double probability;
} cxr_sr_finding;

/// What the SR says. Every string is UTF-8 and may be NULL or "" when unknown (then its item is left out).
typedef struct {
    /// The captioned DICOM file (read again for its UIDs and its patient and study attributes).
    const char *source_path;
    /// The SR file to write (replaced when it exists).
    const char *output_path;
    const cxr_sr_impression *impressions;  // best first
    int32_t impression_count;
    const cxr_sr_finding *findings;
    int32_t finding_count;
    /// The model's metadata (docs/WEIGHTS.md) and the SHA-256 of its file, in lowercase hex.
    const char *model_name;
    const char *model_version;
    const char *model_sha256;
    const char *model_description;
    const char *intended_use;
    const char *disclaimer;
    const char *license;
    const char *training_data;
    /// 1: the model's metadata says it is not for clinical use (the SR then says so first).
    int32_t not_for_clinical_use;
    /// "cxrcaption <version>" (SoftwareVersions).
    const char *software_version;
} cxr_sr_request;

/// Writes the SR that `request` describes. Returns 1 and the new SOP Instance UID (NUL-terminated, at most
/// 64 characters) in `sop_instance_uid`, or 0 and a message in `error` (CXR_DICOM_NOT_DICOM when the source
/// cannot be read as DICOM, CXR_DICOM_MISSING_ATTRIBUTE when it lacks a UID the SR must reference,
/// CXR_DICOM_INVALID when the SR cannot be built or written). Never throws.
int cxr_dicom_write_sr(const cxr_sr_request *request, char sop_instance_uid[65], cxr_dicom_error *error);

/// A Secondary Capture image of a picture (the heat-map overview sheet) for the same study.
typedef struct {
    /// The captioned DICOM file (read again for its UIDs and its patient and study attributes).
    const char *source_path;
    /// The file to write (replaced when it exists).
    const char *output_path;
    /// width x height 8-bit RGB pixels, rows packed, channels interleaved.
    const uint8_t *rgb;
    int32_t width;
    int32_t height;
    /// SeriesDescription (UTF-8) and what the picture is (DerivationDescription).
    const char *series_description;
    const char *derivation_description;
    /// "cxrcaption <version>" (SoftwareVersions) and the model's name (ManufacturerModelName); may be NULL.
    const char *software_version;
    const char *model_name;
} cxr_capture_request;

/// Writes the Secondary Capture image that `request` describes: the source's study, a new series (number
/// 9902) and new UIDs, the source's patient and study attributes, a reference to the source image, burned-in
/// text. Returns 1 and the new SOP Instance UID, or 0 and a message in `error` (kinds as cxr_dicom_write_sr).
/// Never throws.
int cxr_dicom_write_capture(const cxr_capture_request *request, char sop_instance_uid[65], cxr_dicom_error *error);

#ifdef __cplusplus
}
#endif

#endif
