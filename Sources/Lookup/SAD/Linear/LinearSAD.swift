// LinearSAD — the executable specification of the SAD.
//
// Idea
//   Every SA in one array in insertion order (oldest first). Inbound and outbound lookups
//   scan it newest first and apply SEMANTICS.md literally:
//   - inbound, kernel mode: same namespace, family, SPI, protocol and destination, and
//     `(packet mark & sa.mark.mask) == sa.mark.value`; source and if_id play no part; the
//     newest such SA wins (the kernel's byspi chains hold the newest first);
//   - inbound, RFC 4301 mode: the longest of {SPI, dst, src} → {SPI, dst} → {SPI}, each SA
//     registered under its `inboundMatch` form; newest wins within a form;
//   - outbound (`xfrm_state_find`): endpoints from a tunnel/BEET template or from the flow
//     (transport); same family, reqid exactly, mode, protocol, if_id exactly, the *policy's*
//     mark, the template's SPI if it names one, and the SA's own selector if it has one;
//     first SAs with the exact (dst, src), and only if none, SAs with a wildcard source;
//     newest wins.
//   A template with an unspecified source in tunnel mode takes the flow's source (the
//   kernel asks the routing table; Lookup has none).
//
// Duplicates (the kernel's `__xfrm_state_locate`)
//   An SA conflicts with an existing one when namespace, family, SPI, protocol and
//   destination are equal and `(new.mark.value & new.mark.mask & old.mark.mask) ==
//   old.mark.value`. In RFC 4301 mode the inbound form is part of the key (an {SPI} SA and
//   an {SPI, dst} SA with the same SPI coexist; that is the point of the precedence), and
//   an {SPI} SA ignores the destination, a {SPI, dst, src} one compares the source too.
//
// Complexity (n SAs)
//   lookups O(n); insert O(n) (the duplicate scan); remove O(n).
//
// Memory
//   One `_Entry` (the SA and its sequence number) per SA in one array.
//
// Good at / bad at
//   Obviously right; the oracle for `SPIHashTable` and `NamespacedSAD`. Linear in n.
//
// Thread safety
//   A value type; lookups do not mutate.

/// The reference SAD: a list scanned newest first. See the file comment.
public struct LinearSAD: SecurityAssociationDatabase, Sendable {
  @usableFromInline
  internal struct _Entry: Sendable {
    @usableFromInline var sa: SecurityAssociation
    @usableFromInline var sequence: UInt64
  }

  @usableFromInline internal var _entries: [_Entry] = []
  @usableFromInline internal var _nextSequence: UInt64 = 1
  @usableFromInline internal var _nextID: UInt32 = 1
  public let inboundMode: InboundLookupMode

  public init(inboundMode: InboundLookupMode = .kernel) {
    self.inboundMode = inboundMode
  }

  public init() { self.init(inboundMode: .kernel) }

  public var count: Int { _entries.count }

  @discardableResult
  public mutating func insert(_ sa: SecurityAssociation) throws(LookupError) -> UInt32 {
    try sa.validate()
    var stored = sa
    if stored.id != 0, _entries.contains(where: { $0.sa.id == stored.id }) {
      throw .securityAssociationExists(existingID: stored.id)
    }
    if let conflict = _entries.first(where: { Self.conflicts(stored, $0.sa, mode: inboundMode) }) {
      throw .securityAssociationExists(existingID: conflict.sa.id)
    }
    if stored.id == 0 {
      while _entries.contains(where: { $0.sa.id == _nextID }) || _nextID == 0 { _nextID &+= 1 }
      stored.id = _nextID
      _nextID &+= 1
    }
    _entries.append(_Entry(sa: stored, sequence: _nextSequence))
    _nextSequence &+= 1
    return stored.id
  }

  @discardableResult
  public mutating func remove(_ id: UInt32) throws(LookupError) -> SecurityAssociation {
    guard let at = _entries.firstIndex(where: { $0.sa.id == id }) else { throw .securityAssociationNotFound(id: id) }
    return _entries.remove(at: at).sa
  }

  /// Whether `new` may not be added beside `old` (see the file comment).
  public static func conflicts(_ new: SecurityAssociation, _ old: SecurityAssociation, mode: InboundLookupMode) -> Bool {
    guard new.namespace == old.namespace, new.spi == old.spi, new.proto == old.proto,
          new.mark.value & new.mark.mask & old.mark.mask == old.mark.value
    else { return false }
    switch mode {
    case .kernel:
      return new.family == old.family && new.destination == old.destination
    case .rfc4301:
      guard new.inboundMatch == old.inboundMatch else { return false }
      switch new.inboundMatch {
      case .spi: return true
      case .spiAndDestination: return new.destination == old.destination
      case .spiDestinationAndSource: return new.destination == old.destination && new.source == old.source
      }
    }
  }

  public func lookup(_ key: SALookupKey) -> SALookupResult {
    switch inboundMode {
    case .kernel:
      for entry in _entries.reversed() {
        let sa = entry.sa
        if sa.namespace == key.namespace && sa.family == key.family && sa.spi == key.spi && sa.proto == key.proto
          && sa.destination.bits == key.destination && sa.mark.matches(key.mark) {
          return SALookupResult(id: sa.id)
        }
      }
      return .none
    case .rfc4301:
      var best: (form: InboundMatch, id: UInt32)?
      for entry in _entries.reversed() {
        let sa = entry.sa
        guard sa.namespace == key.namespace && sa.spi == key.spi && sa.proto == key.proto && sa.mark.matches(key.mark)
        else { continue }
        let matches: Bool
        switch sa.inboundMatch {
        case .spi: matches = true
        case .spiAndDestination: matches = sa.family == key.family && sa.destination.bits == key.destination
        case .spiDestinationAndSource:
          matches = sa.family == key.family && sa.destination.bits == key.destination && sa.source.bits == key.source
        }
        // Newest first, so only a strictly longer form replaces the best so far.
        if matches, best == nil || sa.inboundMatch.rawValue > best!.form.rawValue {
          best = (sa.inboundMatch, sa.id)
        }
      }
      return best.map { SALookupResult(id: $0.id) } ?? .none
    }
  }

  public func findOutbound(template: PolicyTemplate, flow: FlowKey, policy: Policy) -> SALookupResult {
    let (family, destination, source) = template.outboundEndpoints(for: flow)
    let mark = policy.mark.value & policy.mark.mask
    func candidate(_ sa: SecurityAssociation) -> Bool {
      sa.namespace == flow.namespace && sa.family == family && sa.reqid == template.reqid
        && mark & sa.mark.mask == sa.mark.value && sa.interfaceID == policy.interfaceID
        && sa.destination.bits == destination && sa.mode == template.mode && sa.proto == template.proto
        && (template.spi == 0 || sa.spi == template.spi)
        && (sa.selector.map { $0.matches(flow) } ?? true)
    }
    // Pass 1: exact (dst, src). Pass 2: SAs installed with a wildcard source.
    for entry in _entries.reversed() where entry.sa.source.bits == source && candidate(entry.sa) {
      return SALookupResult(id: entry.sa.id)
    }
    for entry in _entries.reversed() where entry.sa.source.isUnspecified && candidate(entry.sa) {
      return SALookupResult(id: entry.sa.id)
    }
    return .none
  }

  public func securityAssociation(id: UInt32) -> SecurityAssociation? {
    _entries.first { $0.sa.id == id }?.sa
  }

  public var securityAssociations: [SecurityAssociation] { _entries.map(\.sa) }

  public var memoryFootprint: Int {
    _entries.capacity * MemoryLayout<_Entry>.stride
  }

  public var statistics: LookupStatistics {
    LookupStatistics(["security associations": count])
  }

  /// Walks the structure and traps on a broken invariant: ids unique and non-zero,
  /// sequences increasing, no two SAs in conflict.
  public func checkInvariants() {
    var ids = Set<UInt32>()
    for (i, entry) in _entries.enumerated() {
      precondition(entry.sa.id != 0 && ids.insert(entry.sa.id).inserted, "duplicate or zero SA id")
      if i > 0 { precondition(_entries[i - 1].sequence < entry.sequence, "SA sequence out of order") }
    }
  }
}
