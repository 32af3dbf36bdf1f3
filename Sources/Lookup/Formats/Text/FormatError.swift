/// A malformed line in an input file: where it is and what was expected there.
///
/// Every reader in `Formats` reports bad input with this error and never crashes, skips a
/// line silently, or keeps a half-read set: a read either returns everything or throws.
public struct FormatError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The file name (or a label such as `<stdin>`) the text came from.
  public var file: String
  /// 1-based line number.
  public var line: Int
  /// 1-based column (in bytes) where the problem starts.
  public var column: Int
  /// What the reader expected at that position.
  public var expected: String
  /// What it found instead (a short excerpt, or "end of line").
  public var found: String

  public init(file: String, line: Int, column: Int, expected: String, found: String) {
    self.file = file
    self.line = line
    self.column = column
    self.expected = expected
    self.found = found
  }

  public var description: String {
    "\(file):\(line):\(column): expected \(expected), found \(found)"
  }
}

/// A file that could not be read at all.
public struct FileReadError: Error, Hashable, Sendable, CustomStringConvertible {
  public var path: String
  public var reason: String
  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }
  public var description: String { "\(path): cannot read file: \(reason)" }
}
