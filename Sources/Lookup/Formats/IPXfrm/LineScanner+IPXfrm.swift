// Token-level helpers the `ip xfrm` reader uses on top of `LineScanner`. `ip` separates tokens
// with single spaces (and often leaves one trailing space), so every token must end at a
// space, a tab or the end of the line.

extension LineScanner {
  /// Requires the end of a token (a space or tab, then skips them all, or the end of the line).
  mutating func xfrmEndOfToken(_ what: @autoclosure () -> String = "a space or the end of the line") throws(FormatError) {
    if isAtEnd { return }
    guard let byte = peek, Self.isSpace(byte) else { throw error(expected: what()) }
    skipSpaces()
  }

  /// The next word and its column; skips the spaces after it.
  mutating func xfrmWord() -> (text: String, column: Int) {
    let start = column
    let text = word()
    skipSpaces()
    return (text, start)
  }

  /// Requires `literal` as a whole token.
  mutating func xfrmKeyword(_ literal: String) throws(FormatError) {
    let start = column
    let (text, _) = xfrmWord()
    if text != literal { throw error(expected: "'\(literal)'", at: start) }
  }

  /// A decimal number token no larger than `maximum`.
  mutating func xfrmDecimal(max maximum: UInt64, _ what: @autoclosure () -> String) throws(FormatError) -> UInt64 {
    let value = try decimal(max: maximum, what())
    try xfrmEndOfToken()
    return value
  }

  /// A decimal or `0x` hex number token no larger than `maximum` (as `ip` prints `%u` or `%#x`).
  mutating func xfrmNumber(max maximum: UInt64, _ what: @autoclosure () -> String) throws(FormatError) -> UInt64 {
    let value = try number(max: maximum, what())
    try xfrmEndOfToken()
    return value
  }

  /// Requires a word of hexadecimal digits without a prefix (`ffffffff`, `00000000`).
  mutating func xfrmBareHex(_ what: @autoclosure () -> String) throws(FormatError) {
    let start = column
    let (text, _) = xfrmWord()
    guard !text.isEmpty, text.utf8.allSatisfy({ Self.hexDigit($0) != nil }) else {
      throw error(expected: what(), at: start)
    }
  }

  /// Consumes the `(…)` annotation `ip -s` appends to a number when present: the `(256)` of
  /// `spi 0x00000100(256)` or the `(0x00000005)` of `reqid 5(0x00000005)`.
  mutating func xfrmAnnotation(_ what: @autoclosure () -> String) throws(FormatError) {
    guard consume("(") else { return }
    let start = column
    while let byte = peek, byte != 0x29 /* ) */ {
      // Decimal or 0x-prefixed hex digits only.
      guard byte == 0x78 || Self.hexDigit(byte) != nil else { throw error(expected: what()) }
      try expect(byte, what())
    }
    if column == start { throw error(expected: what()) }
    try expect(0x29, "')'")
  }

  /// The next keyword of a line whose keywords may come in any order, each at most once,
  /// skipping the `(0x…)` flag annotations `ip -s` inserts. Returns nil at the end of the line.
  /// - Throws: a `FormatError` listing the keywords still allowed, for any other word.
  mutating func xfrmNextKeyword(from keywords: [String], seen: inout Set<String>) throws(FormatError) -> String? {
    while !isAtEnd {
      if peekWord().hasPrefix("(") {
        try xfrmAnnotation("a flag annotation '(0x…)'")
        try xfrmEndOfToken()
        continue
      }
      let (token, column) = xfrmWord()
      guard keywords.contains(token), !seen.contains(token) else {
        let list = keywords.filter { !seen.contains($0) }.map { "'\($0)'" }.joined(separator: ", ")
        throw error(expected: "\(list) or end of line", at: column)
      }
      seen.insert(token)
      return token
    }
    return nil
  }
}
