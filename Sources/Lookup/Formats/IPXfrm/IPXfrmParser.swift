/// The line-by-line state machine behind `IPXfrmReader`.
///
/// `ip` prints every entry as a header line at column 1 (`src …`) followed by detail lines
/// indented with one tab; template details carry two tabs, lifetime and statistics details a
/// tab and two spaces, ESN anti-replay details a tab and one space, and the `getdefault` lines
/// one space. The indentation therefore says what a line can be, and the parser holds at most
/// one open entry (a policy, an SA or the default block) plus the sub-lines an open block
/// still owes (`subLines`).
struct IPXfrmParser {
  let file: String
  let interfaces: [String: UInt32]
  var dump = IPXfrmDump()
  var policy: PolicyBuilder?
  var state: StateBuilder?
  var defaults: DefaultsBuilder?
  var sawDefaults = false
  /// Lines an open sub-block (lifetime, stats, ESN anti-replay) must still see, in order.
  var subLines: [SubLine] = []
  var lastLineNumber = 0

  init(file: String, interfaces: [String: UInt32]) {
    self.file = file
    self.interfaces = interfaces
  }

  mutating func parse(_ text: String) throws(FormatError) -> IPXfrmDump {
    for (number, bytes) in TextLines(text) {
      lastLineNumber = number
      try parseLine(LineScanner(file: file, lineNumber: number, bytes: bytes))
    }
    try finishEntry(at: nil)
    return dump
  }

  // MARK: - Dispatch

  private mutating func parseLine(_ line: LineScanner) throws(FormatError) {
    var s = line
    var tabs = 0
    var spaces = 0
    while s.consume("\t") { tabs += 1 }
    while s.consume(" ") { spaces += 1 }
    if s.rest.utf8.allSatisfy(LineScanner.isSpace) {
      // A blank line ends the open entry.
      try finishEntry(at: s)
      return
    }
    if !subLines.isEmpty {
      try parseSubLine(&s, tabs: tabs, spaces: spaces)
      return
    }
    switch (tabs, spaces) {
    case (0, 0):
      try finishEntry(at: s)
      try parseTopLevel(&s)
    case (0, 1) where defaults != nil:
      try parseDefaultLine(&s)
    case (1, 0) where policy != nil:
      try parsePolicyLine(&s)
    case (1, 0) where state != nil:
      try parseStateLine(&s)
    case (2, 0) where policy != nil:
      try parseTemplateDetailLine(&s)
    default:
      throw s.error(expected: expectedHere)
    }
  }

  /// What a line with unexpected indentation (or no open entry) should have been.
  private var expectedHere: String {
    if policy != nil { return "a policy detail line (one tab) or a template detail line (two tabs)" }
    if state != nil { return "an SA detail line (indented with one tab)" }
    if defaults != nil { return "a default-policy line (' in:', ' fwd:' or ' out:')" }
    return "a policy or SA header ('src …') or 'Default policies:' at the start of the line"
  }

  private mutating func parseTopLevel(_ s: inout LineScanner) throws(FormatError) {
    if s.consume("Default policies:") {
      try s.expectEnd()
      if sawDefaults { throw s.error(expected: "one 'Default policies:' block", at: 1) }
      sawDefaults = true
      defaults = DefaultsBuilder()
      return
    }
    var probe = s
    let (word, _) = probe.xfrmWord()
    guard word == "src" else {
      throw s.error(expected: "a policy or SA header ('src …') or 'Default policies:'")
    }
    // Policies print prefixes (`src 10.0.0.0/8`), SAs bare addresses (`src 10.0.0.1`).
    if probe.peekWord().contains("/") {
      policy = try PolicyBuilder(selector: parseSelector(&s))
    } else {
      state = try StateBuilder(header: &s)
    }
  }

  // MARK: - Closing entries

  /// Closes the open entry before `location` (a line, or nil for the end of the input).
  private mutating func finishEntry(at location: LineScanner?) throws(FormatError) {
    if let next = subLines.first {
      throw failure(expected: next.what, at: location)
    }
    if var open = policy {
      policy = nil
      if let pending = open.pendingTemplate {
        guard pending.isComplete else {
          throw failure(expected: "the template's '\\t\\tproto …' line after 'tmpl'", at: location)
        }
        open.policy.templates.append(pending.template)
      }
      dump.policies.append(open.policy)
    }
    if let open = state {
      state = nil
      dump.securityAssociations.append(try open.build(missing: { what in failure(expected: what, at: location) }))
    }
    if let open = defaults {
      defaults = nil
      guard let actions = open.actions else {
        throw failure(expected: "the ' in:', ' fwd:' and ' out:' lines of 'Default policies:'", at: location)
      }
      dump.defaultActions = actions
    }
  }

  /// An error at the start of `location`'s content, or at the end of the input.
  func failure(expected: String, at location: LineScanner?) -> FormatError {
    if let location { return location.error(expected: expected) }
    return FormatError(file: file, line: lastLineNumber + 1, column: 1, expected: expected, found: "end of input")
  }
}
