// error_reporting.hpp: how the CDICOM C interfaces (cxr_dicom.h, cxr_dicom_sr.h) fill a cxr_dicom_error.
// Private to Sources/CDICOM (not in include/): both .cpp files use it.
#ifndef CXR_DICOM_ERROR_REPORTING_HPP
#define CXR_DICOM_ERROR_REPORTING_HPP

#include "cxr_dicom.h"

#include <cstddef>
#include <cstring>
#include <string>

namespace cxr_dicom_internal {

/// Copies `text` into a fixed C buffer, cut to fit and always terminated.
inline void copy_text(char *to, std::size_t capacity, const std::string &text) {
    std::strncpy(to, text.c_str(), capacity - 1);
    to[capacity - 1] = 0;
}

/// Fills `*error` (when not NULL) with a failure's kind and message.
inline void fail(cxr_dicom_error *error, cxr_dicom_error_kind kind, const std::string &message) {
    if (error == nullptr) return;
    error->kind = kind;
    copy_text(error->message, sizeof error->message, message);
}

} // namespace cxr_dicom_internal

#endif
