// An SA entry: `src A dst B`, then `\tproto … spi … reqid … mode …`, then
// `\treplay-window …`, then in any order the lines of `xfrm_xfrma_print` and `\tsel …`.

extension IPXfrmParser {
  /// The `proto P [spi 0x…] reqid N mode M` line of an SA or a template.
  struct IDLine {
    var proto: IPsecProtocol
    var spi: UInt32
    var spiColumn: Int
    var reqid: UInt32
    var mode: IPsecMode
  }

  struct StateBuilder {
    var source: IPAddress
    var destination: IPAddress
    var id: IDLine?
    var spiError: FormatError?
    var replayWindow: UInt32?
    var replayWindowError: FormatError?
    /// The ESN block's `replay_window` (the real window when the kernel keeps an ESN state).
    var esnWindow: UInt32?
    var mark: MarkSelector?
    var interfaceID: UInt32?
    var selector: PolicySelector?

    /// Reads the header `src A dst B`.
    init(header s: inout LineScanner) throws(FormatError) {
      try s.xfrmKeyword("src")
      source = try s.address("an SA source address")
      try s.xfrmEndOfToken()
      try s.xfrmKeyword("dst")
      let destinationColumn = s.column
      destination = try s.address("an SA destination address")
      guard destination.family == source.family else {
        throw s.error(expected: "a dst address of the same family as the src address", at: destinationColumn)
      }
      try s.expectEnd()
    }

    /// The SA, or an error from `missing` naming the line the entry still needed.
    func build(missing: (String) -> FormatError) throws(FormatError) -> SecurityAssociation {
      guard let id else { throw missing("the SA's '\\tproto … spi … reqid … mode …' line") }
      guard let replayWindow else { throw missing("the SA's '\\treplay-window …' line") }
      do {
        return try SecurityAssociation(
          spi: id.spi, proto: id.proto, mode: id.mode, reqid: id.reqid, destination: destination,
          source: source.isUnspecified ? nil : source, mark: mark ?? .any, interfaceID: interfaceID ?? 0,
          selector: selector, replayWindow: esnWindow ?? replayWindow)
      } catch {
        // The line parsers check what the initializer checks; these are the same limits.
        switch error {
        case .invalidReplayWindow: throw replayWindowError ?? missing("a replay window 0...4096")
        default: throw spiError ?? missing("a valid SPI")
        }
      }
    }
  }

  mutating func parseStateLine(_ s: inout LineScanner) throws(FormatError) {
    guard var open = state else { return }
    defer { state = open }
    let (word, column) = s.xfrmWord()
    if word == "security" { throw Self.unsupportedSecurityContext(s, column) }
    guard open.id != nil else {
      guard word == "proto" else { throw s.error(expected: "'proto' (the SA's second line)", at: column) }
      let line = try parseID(&s, requireSPI: true)
      open.spiError = try Self.checkSPI(line, s)
      open.id = line
      return
    }
    guard open.replayWindow != nil else {
      guard word == "replay-window" else { throw s.error(expected: "'replay-window' (the SA's third line)", at: column) }
      try parseReplayLine(&s, into: &open)
      return
    }
    switch word {
    case "mark":
      if open.mark != nil { throw s.error(expected: "one 'mark' line per SA", at: column) }
      open.mark = try parseMark(&s)
      if !s.isAtEnd {
        try s.xfrmKeyword("output-mark")
        try parseOutputMark(&s)
      }
      try s.expectEnd()
    case "output-mark":
      try parseOutputMark(&s)
      try s.expectEnd()
    case "if_id":
      if open.interfaceID != nil { throw s.error(expected: "one 'if_id' line per SA", at: column) }
      open.interfaceID = UInt32(try s.xfrmNumber(max: UInt64(UInt32.max), "an if_id (0x… or decimal)"))
      try s.expectEnd()
    case "sel":
      if open.selector != nil { throw s.error(expected: "one 'sel' line per SA", at: column) }
      open.selector = try parseSelector(&s)
    case "auth", "auth-trunc", "aead", "enc", "comp":
      // Algorithms and keys: not modelled. `ip` prints the name, then the key (or nothing).
      let (name, nameColumn) = s.xfrmWord()
      if name.isEmpty { throw s.error(expected: "an algorithm name", at: nameColumn) }
    case "encap":
      try s.xfrmKeyword("type")  // UDP/TCP encapsulation: not modelled
    case "coa":
      _ = try s.address("a care-of address")
      try s.expectEnd()
    case "lastused", "tfcpad", "pcpu-num":
      let (value, valueColumn) = s.xfrmWord()
      if value.isEmpty { throw s.error(expected: "a value after '\(word)'", at: valueColumn) }
    case "dir":
      let (value, valueColumn) = s.xfrmWord()
      guard value == "in" || value == "out" || value == "other" else {
        throw s.error(expected: "an SA direction (in or out)", at: valueColumn)
      }
    case "anti-replay":
      let (kind, kindColumn) = s.xfrmWord()
      switch kind {
      case "context:": break  // sequence numbers and bitmap: state, not configuration
      case "esn":
        try s.xfrmKeyword("context:")
        try s.expectEnd()
        subLines = [.esnSequence, .esnWindow]
      default: throw s.error(expected: "'context:' or 'esn context:'", at: kindColumn)
      }
    case "crypto":
      try s.expect("offload parameters:")
    case "lifetime":
      try parseLifetimeHeader(&s)
    case "stats:":
      try s.expectEnd()
      subLines = [.stats]
    default:
      throw s.error(expected: "an SA detail line ('mark', 'if_id', 'sel', 'auth', 'auth-trunc', 'aead', 'enc', "
                      + "'comp', 'encap', 'coa', 'lastused', 'anti-replay', 'crypto', 'tfcpad', 'dir', "
                      + "'pcpu-num', 'lifetime', 'stats:')", at: column)
    }
  }

  /// After `proto`: `esp|ah|comp [spi 0x…[(N)]] reqid N[(0x…)] mode M`.
  func parseID(_ s: inout LineScanner, requireSPI: Bool) throws(FormatError) -> IDLine {
    let (name, nameColumn) = s.xfrmWord()
    guard let proto = IPXfrmTokens.ipsecProtocol(named: name) else {
      if IPXfrmTokens.unsupportedIPsecProtocols.contains(name) {
        throw s.error(expected: "esp, ah or comp ('\(name)' is unsupported)", at: nameColumn)
      }
      throw s.error(expected: "an IPsec protocol (esp, ah or comp)", at: nameColumn)
    }
    var spi: UInt32 = 0
    var spiColumn = s.column
    if s.peekWord() == "spi" {
      _ = s.xfrmWord()
      spiColumn = s.column
      spi = UInt32(try s.hex(max: UInt64(UInt32.max), "an SPI (0x followed by hex digits)"))
      try s.xfrmAnnotation("the SPI in decimal")
      try s.xfrmEndOfToken()
    } else if requireSPI {
      throw s.error(expected: "'spi'")
    }
    try s.xfrmKeyword("reqid")
    let reqid = UInt32(try s.decimal(max: UInt64(UInt32.max), "a reqid 0...4294967295"))
    try s.xfrmAnnotation("the reqid in hex")
    try s.xfrmEndOfToken()
    try s.xfrmKeyword("mode")
    let (modeName, modeColumn) = s.xfrmWord()
    guard let mode = IPXfrmTokens.mode(named: modeName) else {
      if IPXfrmTokens.unsupportedModes.contains(modeName) {
        throw s.error(expected: "transport, tunnel or beet (mode '\(modeName)' is unsupported)", at: modeColumn)
      }
      throw s.error(expected: IPXfrmTokens.expectedModes, at: modeColumn)
    }
    try s.expectEnd()
    return IDLine(proto: proto, spi: spi, spiColumn: spiColumn, reqid: reqid, mode: mode)
  }

  /// The SPI rules of `SecurityAssociation.init`, reported at the SPI.
  private static func checkSPI(_ id: IDLine, _ s: LineScanner) throws(FormatError) -> FormatError {
    let error: FormatError
    switch id.proto {
    case .esp, .ah:
      error = s.error(expected: "an SPI above 0x000000ff (0 is invalid, 1...255 are reserved)", at: id.spiColumn)
      if id.spi <= 255 { throw error }
    case .ipcomp:
      error = s.error(expected: "an IPcomp CPI 0x00000001...0x0000ffff", at: id.spiColumn)
      if id.spi == 0 || id.spi > 0xFFFF { throw error }
    }
    return error
  }

  /// `replay-window N [seq 0x…] [flag …] [extra_flag …] [(0x…)]`.
  private func parseReplayLine(_ s: inout LineScanner, into open: inout StateBuilder) throws(FormatError) {
    let windowColumn = s.column
    let window = try s.xfrmDecimal(max: UInt64(UInt32.max), "a replay window 0...4096")
    let windowError = s.error(expected: "a replay window 0...4096", at: windowColumn)
    if window > UInt64(SecurityAssociation.maximumReplayWindow) { throw windowError }
    var seen: Set<String> = []
    let keywords = ["seq", "flag", "extra_flag"]
    while let token = try s.xfrmNextKeyword(from: keywords, seen: &seen) {
      switch token {
      case "seq":  // `ip -s` prints it as 0x%08u
        _ = try s.hex(max: UInt64.max, "a sequence number (0x…)")
        try s.xfrmEndOfToken()
      case "flag":
        try skipFlags(&s, names: IPXfrmTokens.stateFlagNames, what: "an SA flag (noecn, decap-dscp, nopmtudisc, "
                        + "wildrecv, icmp, af-unspec, align4, esn)", until: "extra_flag")
      default:
        try skipFlags(&s, names: IPXfrmTokens.stateExtraFlagNames,
                      what: "an SA extra flag (dont-encap-dscp, oseq-may-wrap)")
      }
    }
    open.replayWindow = UInt32(window)
    open.replayWindowError = windowError
  }

  /// `output-mark 0xV[/0xM]`: the mark an SA sets on output, not a selector; not modelled.
  private func parseOutputMark(_ s: inout LineScanner) throws(FormatError) {
    _ = try s.number(max: UInt64(UInt32.max), "an output mark (0x…)")
    if s.consume("/") { _ = try s.number(max: UInt64(UInt32.max), "an output mark mask (0x…)") }
    try s.xfrmEndOfToken()
  }
}
