// A policy entry: the selector header, then `\tdir …` (always the first detail line), then in
// any order `\tmark`, `\ttmpl` (with its `\t\tproto`, `\t\tlevel`, `\t\tenc-mask` lines),
// `\tif_id`, and the ignored lifetime and offload lines.

extension IPXfrmParser {
  struct PolicyBuilder {
    var policy: Policy
    var sawDirection = false
    var sawMark = false
    var sawInterfaceID = false
    var pendingTemplate: TemplateBuilder?

    init(selector: PolicySelector) {
      policy = Policy(selector: selector, direction: .out)
    }
  }

  /// A template between its `tmpl` line and the end of its detail lines.
  struct TemplateBuilder {
    enum Stage: Int, Comparable {
      case needsProto = 0, sawProto, sawLevel, sawMasks
      static func < (a: Stage, b: Stage) -> Bool { a.rawValue < b.rawValue }
    }
    var template: PolicyTemplate
    var stage = Stage.needsProto
    var isComplete: Bool { stage > .needsProto }
  }

  // MARK: - One-tab lines

  mutating func parsePolicyLine(_ s: inout LineScanner) throws(FormatError) {
    guard var open = policy else { return }
    defer { policy = open }
    let (word, column) = s.xfrmWord()
    if word == "security" { throw Self.unsupportedSecurityContext(s, column) }
    guard open.sawDirection else {
      if word == "socket" {
        throw s.error(expected: "'dir' (per-socket policies are not in the SPD and are unsupported)", at: column)
      }
      guard word == "dir" else { throw s.error(expected: "'dir' (the policy's second line)", at: column) }
      try parseDirection(&s, into: &open.policy)
      open.sawDirection = true
      return
    }
    if let pending = open.pendingTemplate {
      guard pending.isComplete else {
        throw s.error(expected: "the template's '\\t\\tproto …' line after 'tmpl'", at: column)
      }
      open.pendingTemplate = nil
      open.policy.templates.append(pending.template)
    }
    switch word {
    case "mark":
      if open.sawMark { throw s.error(expected: "one 'mark' line per policy", at: column) }
      open.sawMark = true
      open.policy.mark = try parseMark(&s)
      try s.expectEnd()
    case "if_id":
      if open.sawInterfaceID { throw s.error(expected: "one 'if_id' line per policy", at: column) }
      open.sawInterfaceID = true
      open.policy.interfaceID = UInt32(try s.xfrmNumber(max: UInt64(UInt32.max), "an if_id (0x… or decimal)"))
      try s.expectEnd()
    case "pfp":
      // Lookup's extension: populate-from-packet flags (`pfp local-addr remote-port …`).
      if !open.policy.populateFromPacket.isEmpty { throw s.error(expected: "one 'pfp' line per policy", at: column) }
      while !s.isAtEnd {
        let (name, at) = s.xfrmWord()
        guard let flag = PFPFlags(name: name) else {
          throw s.error(expected: "a PFP flag (\(PFPFlags.names.joined(separator: ", ")))", at: at)
        }
        open.policy.populateFromPacket.insert(flag)
      }
      if open.policy.populateFromPacket.isEmpty { throw s.error(expected: "at least one PFP flag") }
    case "tmpl":
      if open.policy.templates.count >= Policy.maximumTemplates {
        throw s.error(expected: "at most \(Policy.maximumTemplates) templates per policy (XFRM_MAX_DEPTH)", at: column)
      }
      open.pendingTemplate = try parseTemplateHeader(&s)
    case "lifetime":
      try parseLifetimeHeader(&s)
    case "crypto":
      try s.expect("offload parameters:")  // hardware offload: not modelled
    default:
      throw s.error(expected: "'mark', 'tmpl', 'if_id', 'pfp', 'lifetime config:', 'lifetime current:' or "
                      + "'crypto offload parameters:'", at: column)
    }
  }

  static func unsupportedSecurityContext(_ s: LineScanner, _ column: Int) -> FormatError {
    s.error(expected: "no 'security context' (LSM security contexts are unsupported)", at: column)
  }

  /// `dir D [action A] [index N] priority N [ptype T] [share S] [flag …] [(0x…)]`.
  private func parseDirection(_ s: inout LineScanner, into policy: inout Policy) throws(FormatError) {
    let (name, nameColumn) = s.xfrmWord()
    guard let direction = IPXfrmTokens.direction(named: name) else {
      throw s.error(expected: "a direction (in, out or fwd)", at: nameColumn)
    }
    policy.direction = direction
    var seen: Set<String> = []
    let keywords = ["action", "index", "priority", "ptype", "share", "flag"]
    while let token = try s.xfrmNextKeyword(from: keywords, seen: &seen) {
      switch token {
      case "action":
        let (word, wordColumn) = s.xfrmWord()
        guard let action = IPXfrmTokens.action(named: word) else {
          throw s.error(expected: "an action (allow or block)", at: wordColumn)
        }
        policy.action = action
      case "index":
        _ = s.skipSpaces()
        let indexColumn = s.column
        policy.index = UInt32(try s.xfrmDecimal(max: UInt64(UInt32.max), "a policy index"))
        // The kernel keeps the direction in an index's low three bits (`xfrm_gen_index`);
        // caught here, at its token, rather than as a refused insert with no line.
        if policy.index != 0 && policy.index & 7 != UInt32(direction.rawValue) {
          throw s.error(expected: "an index whose low three bits are the direction's (\(direction.rawValue) for '\(direction)')",
                        at: indexColumn)
        }
      case "priority":
        policy.priority = UInt32(try s.xfrmDecimal(max: UInt64(UInt32.max), "a priority 0...4294967295"))
      case "ptype":
        let (word, wordColumn) = s.xfrmWord()
        guard let type = IPXfrmTokens.policyType(named: word) else {
          throw s.error(expected: "a policy type (main or sub)", at: wordColumn)
        }
        policy.type = type
      case "share":
        let (word, wordColumn) = s.xfrmWord()
        guard IPXfrmTokens.shareNames.contains(word) || UInt8(word) != nil else {
          throw s.error(expected: "a share value (any, session, user or unique)", at: wordColumn)
        }
      default:  // "flag": names, possibly a leftover hex value, up to the annotation or the end
        try skipFlags(&s, names: IPXfrmTokens.policyFlagNames, what: "a policy flag (localok, icmp)")
      }
    }
    if !seen.contains("priority") { throw s.error(expected: "'priority N'") }
  }

  /// Skips the words of a `flag` list: known names, or the hex of unnamed bits.
  func skipFlags(_ s: inout LineScanner, names: Set<String>, what: String, until stop: String? = nil)
  throws(FormatError) {
    while !s.isAtEnd {
      let next = s.peekWord()
      if next.hasPrefix("(") || next == stop { return }
      let (word, column) = s.xfrmWord()
      guard names.contains(word) || word.utf8.allSatisfy({ LineScanner.hexDigit($0) != nil }) else {
        throw s.error(expected: what, at: column)
      }
    }
  }

  /// `VALUE/MASK`, each `0x…` or decimal (`%#x` prints 0 as `0`; old `ip` printed the value in
  /// decimal).
  func parseMark(_ s: inout LineScanner) throws(FormatError) -> MarkSelector {
    let value = try s.number(max: UInt64(UInt32.max), "a mark value (0x… or decimal)")
    try s.expect(0x2F, "'/' and a mark mask")
    let mask = try s.number(max: UInt64(UInt32.max), "a mark mask (0x… or decimal)")
    try s.xfrmEndOfToken()
    return MarkSelector(value: UInt32(value), mask: UInt32(mask))
  }

  // MARK: - Templates

  /// `tmpl src A dst B`.
  private func parseTemplateHeader(_ s: inout LineScanner) throws(FormatError) -> TemplateBuilder {
    try s.xfrmKeyword("src")
    let source = try s.address("a template source address")
    try s.xfrmEndOfToken()
    try s.xfrmKeyword("dst")
    let destinationColumn = s.column
    let destination = try s.address("a template destination address")
    guard destination.family == source.family else {
      throw s.error(expected: "a dst address of the same family as the src address", at: destinationColumn)
    }
    try s.expectEnd()
    return TemplateBuilder(template: PolicyTemplate(family: source.family, source: source, destination: destination))
  }

  /// The two-tab lines of a template: `proto …`, then optionally `level …` and `enc-mask …`.
  mutating func parseTemplateDetailLine(_ s: inout LineScanner) throws(FormatError) {
    guard var open = policy else { return }
    defer { policy = open }
    guard var pending = open.pendingTemplate else {
      throw s.error(expected: "a one-tab policy line (two-tab lines follow a 'tmpl' line)")
    }
    let (word, column) = s.xfrmWord()
    switch (word, pending.stage) {
    case ("proto", .needsProto):
      let id = try parseID(&s, requireSPI: false)
      pending.template.proto = id.proto
      pending.template.spi = id.spi
      pending.template.reqid = id.reqid
      pending.template.mode = id.mode
      pending.stage = .sawProto
    case ("level", .sawProto):
      let (value, valueColumn) = s.xfrmWord()
      switch value {
      case "use": pending.template.isOptional = true
      case "required": pending.template.isOptional = false
      default: throw s.error(expected: "a level (required or use)", at: valueColumn)
      }
      if !s.isAtEnd {
        try s.xfrmKeyword("share")
        let (share, shareColumn) = s.xfrmWord()
        guard IPXfrmTokens.shareNames.contains(share) || UInt8(share) != nil else {
          throw s.error(expected: "a share value (any, session, user or unique)", at: shareColumn)
        }
      }
      try s.expectEnd()
      pending.stage = .sawLevel
    case ("enc-mask", .sawProto), ("enc-mask", .sawLevel):
      // The allowed algorithm masks (`ip -s`): not modelled.
      try s.xfrmBareHex("an 8-digit hex mask")
      try s.xfrmKeyword("auth-mask")
      try s.xfrmBareHex("an 8-digit hex mask")
      try s.xfrmKeyword("comp-mask")
      try s.xfrmBareHex("an 8-digit hex mask")
      try s.expectEnd()
      pending.stage = .sawMasks
    default:
      let expected = switch pending.stage {
      case .needsProto: "'proto' (the template's second line)"
      case .sawProto: "'level' or 'enc-mask'"
      case .sawLevel: "'enc-mask'"
      case .sawMasks: "a one-tab policy line (this template is complete)"
      }
      throw s.error(expected: expected, at: column)
    }
    open.pendingTemplate = pending
  }
}
