import CXRKit
