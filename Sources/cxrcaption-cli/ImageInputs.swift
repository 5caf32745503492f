import Foundation

/// The images a `caption` run works through, from its arguments (files and folders).
///
/// - A folder contributes its image files, sorted by path: a file is an image when its first bytes are those
///   of DICOM ("DICM" at byte 128), PNG or JPEG, or else when its extension is one of theirs (.dcm, .dicom,
///   .dic, .png, .jpg, .jpeg, .jpe, .jfif; any letter case), see `ImageFile`. Every other file is a
///   non-image: counted and listed (`nonImages`), never captioned. Hidden entries (names starting with ".")
///   are not read; they are only counted (`hiddenCount`). Subfolders are searched only when `recursive`.
/// - A file named explicitly is taken when it is an image by that rule; otherwise it becomes an item with a
///   problem ("not an image"), as does a path that does not exist.
/// Explicit files keep their command-line order; duplicates are kept.
struct ImageInputs {
    /// One image to caption, or a reason it cannot be.
    struct Item: Equatable {
        var path: String
        var problem: String?
    }

    var items: [Item] = []
    /// Folders that contributed no image file.
    var emptyFolders: [String] = []
    /// Files found in folders that are not images (sorted by path).
    var nonImages: [String] = []
    /// Hidden entries in the folders searched (not read).
    var hiddenCount = 0
    /// Subfolders not searched (without `recursive`).
    var subfolderCount = 0

    init(arguments: [String], recursive: Bool) {
        let files = FileManager.default
        for argument in arguments {
            var isFolder: ObjCBool = false
            guard files.fileExists(atPath: argument, isDirectory: &isFolder) else {
                items.append(Item(path: argument, problem: "no such file or folder"))
                continue
            }
            if isFolder.boolValue {
                let found = Self.scan(folder: argument, recursive: recursive)
                if found.images.isEmpty { emptyFolders.append(argument) }
                items += found.images.map { Item(path: $0, problem: nil) }
                nonImages += found.others
                hiddenCount += found.hidden
                subfolderCount += found.subfolders
            } else if ImageFile.kind(of: argument) != nil {
                items.append(Item(path: argument, problem: nil))
            } else {
                let ext = (argument as NSString).pathExtension
                items.append(Item(path: argument, problem: "not an image\(ext.isEmpty ? "" : " (.\(ext))"): "
                    + "neither its content nor its extension is DICOM, JPEG or PNG"))
            }
        }
    }

    /// The regular files under `folder` (its direct children unless `recursive`), split into images and
    /// others, each sorted by path; the number of hidden entries and of subfolders left out (without
    /// `recursive`). Symbolic links to folders are not followed.
    static func scan(folder: String, recursive: Bool)
        -> (images: [String], others: [String], hidden: Int, subfolders: Int) {
        let files = FileManager.default
        var images: [String] = []
        var others: [String] = []
        var hidden = 0, subfolders = 0
        var pending = [folder]
        while let current = pending.popLast() {
            guard let names = try? files.contentsOfDirectory(atPath: current) else { continue }
            for name in names {
                if name.hasPrefix(".") {
                    hidden += 1
                    continue
                }
                let path = (current as NSString).appendingPathComponent(name)
                guard let attributes = try? files.attributesOfItem(atPath: path),
                      let type = attributes[.type] as? FileAttributeType else { continue }
                if type == .typeDirectory {
                    if recursive { pending.append(path) } else { subfolders += 1 }
                } else if type == .typeRegular || isRegularFile(path) {
                    if ImageFile.kind(of: path) != nil { images.append(path) } else { others.append(path) }
                }
            }
        }
        return (images.sorted(), others.sorted(), hidden, subfolders)
    }

    /// True for a symbolic link that leads to a regular file.
    private static func isRegularFile(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && !isFolder.boolValue
    }
}
