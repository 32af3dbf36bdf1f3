import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading input files, with a clear typed error when a file cannot be read.
public enum InputFile {
  /// The whole file as bytes: a regular file, or anything else `open` and `read` accept — a
  /// pipe (`<(…)`, `/dev/stdin`), a FIFO, `/dev/null`.
  /// - Throws: `FileReadError` naming the path and the system's reason (missing, a
  ///   directory, permission denied, …).
  public static func bytes(_ path: String) throws(FileReadError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileReadError(path: path, reason: reason(errno)) }
    defer { close(descriptor) }
    var status = stat()
    var bytes: [UInt8] = []
    if fstat(descriptor, &status) == 0 {
      if status.st_mode & S_IFMT == S_IFDIR { throw FileReadError(path: path, reason: reason(EISDIR)) }
      if status.st_mode & S_IFMT == S_IFREG { bytes.reserveCapacity(Int(status.st_size)) }
    }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count > 0 {
        bytes.append(contentsOf: chunk[0..<count])
      } else if count == 0 {
        return bytes
      } else if errno != EINTR {
        throw FileReadError(path: path, reason: reason(errno))
      }
    }
  }

  /// The whole file as UTF-8 text (invalid bytes replaced).
  public static func text(_ path: String) throws(FileReadError) -> String {
    String(decoding: try bytes(path), as: UTF8.self)
  }

  /// Why a file could not be read, in the words the messages have always used for the
  /// common cases, else the system's.
  static func reason(_ code: Int32) -> String {
    switch code {
    case ENOENT: "no such file"
    case EISDIR: "is a directory"
    case EACCES: "permission denied"
    default: String(cString: strerror(code))
    }
  }
}
