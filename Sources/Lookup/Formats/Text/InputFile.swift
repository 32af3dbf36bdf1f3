import Foundation

/// Reading input files, with a clear typed error when a file cannot be read.
public enum InputFile {
  /// The whole file as bytes.
  /// - Throws: `FileReadError` naming the path and why (missing, a directory, unreadable).
  public static func bytes(_ path: String) throws(FileReadError) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
      var isDirectory: ObjCBool = false
      let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
      let reason = !exists ? "no such file" : isDirectory.boolValue ? "is a directory" : "permission denied or unreadable"
      throw FileReadError(path: path, reason: reason)
    }
    return [UInt8](data)
  }

  /// The whole file as UTF-8 text (invalid bytes replaced).
  public static func text(_ path: String) throws(FileReadError) -> String {
    String(decoding: try bytes(path), as: UTF8.self)
  }
}
