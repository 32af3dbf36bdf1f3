import ArgumentParser
import Foundation
import Lookup

/// Exit codes, distinct per kind of failure so scripts can tell them apart.
enum ExitStatus {
  /// `verify` found a disagreement.
  static let disagreement: Int32 = 1
  /// A malformed input line.
  static let formatError: Int32 = 3
  /// A file that cannot be read.
  static let fileError: Int32 = 4
  /// Input the library refused (invalid value, duplicate, unknown structure name).
  static let lookupError: Int32 = 5
}

/// Prints a message to standard error.
func printError(_ message: String) {
  FileHandle.standardError.write(Data(("lookupbench: error: " + message + "\n").utf8))
}

/// Runs `body`, turning the library's typed errors into one clear line on standard error and
/// a distinct exit code (no stack trace).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let error as FormatError {
    printError(error.description)
    throw ExitCode(ExitStatus.formatError)
  } catch let error as FileReadError {
    printError(error.description)
    throw ExitCode(ExitStatus.fileError)
  } catch let error as LookupError {
    printError(error.description)
    throw ExitCode(ExitStatus.lookupError)
  }
}

/// Standard output with a large buffer: `classify` prints one line per header.
struct BufferedOutput {
  private var buffer: [UInt8] = []

  init() { buffer.reserveCapacity(1 << 16) }

  mutating func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= 1 << 16 { flush() }
  }

  mutating func flush() {
    FileHandle.standardOutput.write(Data(buffer))
    buffer.removeAll(keepingCapacity: true)
  }
}
