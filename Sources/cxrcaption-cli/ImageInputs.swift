import Foundation

/// The images a `caption` run works through, from its arguments (files and folders).
///
/// - A folder contributes its `.png` files (any letter case), sorted by path; other files and hidden entries
///   (names starting with ".") are skipped silently. Subfolders are searched only when `recursive`.
/// - A file named explicitly is taken as it is when it ends in `.png` or starts with the PNG signature;
///   otherwise it becomes an item with a problem ("not a PNG file"), as does a path that does not exist.
/// Explicit files keep their command-line order; duplicates are kept.
struct ImageInputs {
    /// One image to caption, or a reason it cannot be.
    struct Item: Equatable {
        var path: String
        var problem: String?
    }

    var items: [Item] = []
    /// Folders that contributed no PNG file.
    var emptyFolders: [String] = []

    init(arguments: [String], recursive: Bool) {
        let files = FileManager.default
        for argument in arguments {
            var isFolder: ObjCBool = false
            guard files.fileExists(atPath: argument, isDirectory: &isFolder) else {
                items.append(Item(path: argument, problem: "no such file or folder"))
                continue
            }
            if isFolder.boolValue {
                let found = Self.pngFiles(in: argument, recursive: recursive)
                if found.isEmpty { emptyFolders.append(argument) }
                items += found.map { Item(path: $0, problem: nil) }
            } else if Self.hasPNGExtension(argument) || Self.startsWithPNGSignature(argument) {
                items.append(Item(path: argument, problem: nil))
            } else {
                let ext = (argument as NSString).pathExtension
                items.append(Item(path: argument, problem: "not a PNG file\(ext.isEmpty ? "" : " (.\(ext))"); "
                    + "caption reads PNG images (8/16-bit gray, RGB, RGBA, palette)"))
            }
        }
    }

    static func hasPNGExtension(_ path: String) -> Bool {
        (path as NSString).pathExtension.lowercased() == "png"
    }

    static func startsWithPNGSignature(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 8)) ?? Data()
        return head == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    /// PNG files under `folder` (its direct children unless `recursive`), sorted by path. Symbolic links to
    /// folders are not followed.
    static func pngFiles(in folder: String, recursive: Bool) -> [String] {
        let files = FileManager.default
        var found: [String] = []
        var pending = [folder]
        while let current = pending.popLast() {
            guard let names = try? files.contentsOfDirectory(atPath: current) else { continue }
            for name in names where !name.hasPrefix(".") {
                let path = (current as NSString).appendingPathComponent(name)
                guard let attributes = try? files.attributesOfItem(atPath: path),
                      let type = attributes[.type] as? FileAttributeType else { continue }
                if type == .typeDirectory {
                    if recursive { pending.append(path) }
                } else if hasPNGExtension(name), type == .typeRegular || isRegularFile(path) {
                    found.append(path)
                }
            }
        }
        return found.sorted()
    }

    /// True for a symbolic link that leads to a regular file.
    private static func isRegularFile(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && !isFolder.boolValue
    }
}
