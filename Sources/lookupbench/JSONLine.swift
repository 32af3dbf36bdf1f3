/// One JSON object on one line, from already-rendered values (see `JSONLine.string`,
/// `.number`): the runner's reports write JSON Lines without a dependency.
enum JSONLine {
  static func string(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
  }

  static func number(_ value: Double, decimals: Int = 2) -> String {
    value.isFinite ? String(format: "%.\(decimals)f", value) : "null"
  }

  static func object(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
  }
}

import ArgumentParser
import Foundation

/// Writes lines to a file (the `--json FILE` option of the experiments); a file that cannot
/// be written is reported like an unreadable one (exit code 4).
func writeLines(_ lines: [String], to path: String) throws {
  guard FileManager.default.createFile(atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8)) else {
    printError("\(path): cannot write the file")
    throw ExitCode(ExitStatus.fileError)
  }
}
