// Blocks of further-indented lines that belong to a one-tab header line: `lifetime config:`
// (4 lines) and `lifetime current:` (2 lines) of `ip -s`, `stats:` (1 line), and the ESN
// anti-replay block (`anti-replay esn context:`, then 2 lines and the bitmap). Apart from the
// ESN block's `replay_window`, they carry nothing Lookup models; each is still recognised.

extension IPXfrmParser {
  enum SubLine {
    /// A lifetime line that starts with the given words (`limit:`, `expire add:`, …).
    case lifetime(String)
    /// `  0(bytes), 0(packets)`.
    case lifetimeCounters
    /// `  add 2024-08-29 09:30:00 use -`.
    case lifetimeTimes
    /// `  replay-window 0 replay 0 failed 0`.
    case stats
    /// ` seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0`.
    case esnSequence
    /// ` replay_window 128, bitmap-length 4`.
    case esnWindow
    /// ` 00000000 00000000 … ` (up to 8 words per line).
    case esnBitmap(words: Int)

    /// The spaces after the tab that indent the line.
    var spaces: Int {
      switch self {
      case .esnSequence, .esnWindow, .esnBitmap: 1
      default: 2
      }
    }

    var what: String {
      switch self {
      case .lifetime(let words): "a lifetime line '\\t  \(words) …'"
      case .lifetimeCounters: "a lifetime line '\\t  N(bytes), N(packets)'"
      case .lifetimeTimes: "a lifetime line '\\t  add … use …'"
      case .stats: "a statistics line '\\t  replay-window N replay N failed N'"
      case .esnSequence: "an ESN line '\\t seq-hi 0x…, seq 0x…, oseq-hi 0x…, oseq 0x…'"
      case .esnWindow: "an ESN line '\\t replay_window N, bitmap-length N'"
      case .esnBitmap(let words): "an ESN bitmap line '\\t ' with \(words) hex words"
      }
    }
  }

  /// After `lifetime`: `config:` or `current:`, which open their sub-blocks.
  mutating func parseLifetimeHeader(_ s: inout LineScanner) throws(FormatError) {
    let (kind, column) = s.xfrmWord()
    switch kind {
    case "config:":
      subLines = [.lifetime("limit:"), .lifetime("limit:"), .lifetime("expire add:"), .lifetime("expire use:")]
    case "current:":
      subLines = [.lifetimeCounters, .lifetimeTimes]
    default:
      throw s.error(expected: "'config:' or 'current:'", at: column)
    }
    try s.expectEnd()
  }

  /// One line a sub-block owes; `s` stands after the line's indentation.
  mutating func parseSubLine(_ s: inout LineScanner, tabs: Int, spaces: Int) throws(FormatError) {
    let expected = subLines.removeFirst()
    guard tabs == 1, spaces == expected.spaces else { throw s.error(expected: expected.what) }
    switch expected {
    case .lifetime(let words):
      if !s.consume(words) { throw s.error(expected: expected.what) }
    case .lifetimeCounters:
      let (bytes, bytesColumn) = s.xfrmWord()
      guard bytes.hasSuffix("(bytes),") else { throw s.error(expected: expected.what, at: bytesColumn) }
      let (packets, packetsColumn) = s.xfrmWord()
      guard packets.hasSuffix("(packets)") else { throw s.error(expected: expected.what, at: packetsColumn) }
      try s.expectEnd()
    case .lifetimeTimes:
      try s.xfrmKeyword("add")
    case .stats:
      try s.xfrmKeyword("replay-window")
    case .esnSequence:
      try s.xfrmKeyword("seq-hi")
    case .esnWindow:
      try s.xfrmKeyword("replay_window")
      let windowColumn = s.column
      let window = try s.decimal(max: UInt64(UInt32.max), "a replay window 0...4096")
      let windowError = s.error(expected: "a replay window 0...4096", at: windowColumn)
      if window > UInt64(SecurityAssociation.maximumReplayWindow) { throw windowError }
      try s.expect(0x2C, "','")
      try s.expectSpaces()
      try s.xfrmKeyword("bitmap-length")
      let words = Int(try s.xfrmDecimal(max: 128, "a bitmap length 0...128 (32-bit words)"))
      try s.expectEnd()
      state?.esnWindow = UInt32(window)
      state?.replayWindowError = windowError
      var remaining = words
      while remaining > 0 {
        subLines.append(.esnBitmap(words: min(8, remaining)))
        remaining -= 8
      }
    case .esnBitmap(let words):
      for _ in 0..<words { try s.xfrmBareHex("an 8-digit hex bitmap word") }
      try s.expectEnd()
    }
  }

  // MARK: - Default policies

  /// The lines after `Default policies:`: ` in:  accept`, ` fwd: block`, ` out: accept`.
  struct DefaultsBuilder {
    var seen: [PolicyDirection: PolicyAction] = [:]

    var actions: DefaultActions? {
      guard let inbound = seen[.in], let forward = seen[.fwd], let outbound = seen[.out] else { return nil }
      return DefaultActions(inbound: inbound, outbound: outbound, forward: forward)
    }
  }

  mutating func parseDefaultLine(_ s: inout LineScanner) throws(FormatError) {
    guard var open = defaults else { return }
    defer { defaults = open }
    let (label, labelColumn) = s.xfrmWord()
    let direction: PolicyDirection
    switch label {
    case "in:": direction = .in
    case "fwd:": direction = .fwd
    case "out:": direction = .out
    default: throw s.error(expected: "'in:', 'fwd:' or 'out:'", at: labelColumn)
    }
    if open.seen[direction] != nil { throw s.error(expected: "one '\(label)' line", at: labelColumn) }
    let (value, valueColumn) = s.xfrmWord()
    guard let action = IPXfrmTokens.defaultAction(named: value) else {
      throw s.error(expected: "a default action (accept or block)", at: valueColumn)
    }
    try s.expectEnd()
    open.seen[direction] = action
  }
}
