// NamespacedSAD — per-VM SPI namespaces for hosts that terminate IPsec for many VMs.
//
// Idea
//   RFC 4301 §4.4 lets one gateway run independent IPsec contexts, each with its own SPI
//   space; with offload, every VM is such a context and two VMs may pick the same SPI. The
//   namespace id is part of every SA key and every lookup, so equal SPIs in two namespaces
//   never meet. Lookups go straight to one `SPIHashTable` whose bucket key already holds the
//   namespace: one flat table gives one memory round trip per lookup whatever the number of VMs (a
//   table per namespace would add a dependent probe and waste a half-empty table per VM).
//   What this structure adds around it is the context management:
//   - `NamespaceRegistry`: VLAN + MAC → a dense namespace id, found per packet by one probe;
//   - a per-namespace cap on SAs plus SPI reservations (a VM cannot exhaust the host's table
//     or hoard SPIs), with a typed error;
//   - an SPI allocator per (namespace, destination, protocol): random unused SPIs from a
//     range, reserved until the SA arrives or the reservation is released, and a typed error
//     when the range is exhausted (the kernel's `XFRM_MSG_ALLOCSPI`);
//   - removal of a whole namespace (a VM going away) in O(its SAs).
//
// Complexity (n SAs)
//   lookup: as SPIHashTable (O(1), one cache line); insert/remove O(1) expected;
//   allocateSPI O(1) expected while the range is less than ~90 % used (random probes), and
//   O(range) to prove exhaustion; removeNamespace O(SAs of the namespace).
//
// Memory
//   SPIHashTable's, plus per SA one SPI-use count entry and its id in its namespace's list.
//
// Good at / bad at
//   Lookups cost what an unnamespaced table costs, collisions across namespaces included
//   (the namespace is hashed with the SPI). The use counts are control-path dictionaries.
//
// Thread safety
//   A value type; lookups do not mutate.

/// An SAD whose SPIs are scoped by a per-VM namespace. See the file comment.
public struct NamespacedSAD: SecurityAssociationDatabase, Sendable {
  /// The default cap on SAs per namespace.
  public static let defaultMaximumPerNamespace = 65_536

  /// Where SPIs are used: (namespace, protocol, SPI) and the destination (nil = every
  /// destination, for {SPI}-form SAs in RFC 4301 mode).
  @usableFromInline
  internal struct _SPIUse: Hashable, Sendable {
    var namespace: UInt32
    var proto: IPsecProtocol
    var spi: UInt32
    var destination: IPAddress?
  }

  @usableFromInline internal var _table: SPIHashTable
  /// The VMs' namespaces (change them through `namespace(for:)` and `removeNamespace`).
  public private(set) var registry: NamespaceRegistry
  /// SAs plus reservations per (namespace, proto, SPI, destination).
  internal var _uses: [_SPIUse: Int] = [:]
  /// SAs plus reservations per (namespace, proto, SPI), any destination.
  internal var _usesAnyDestination: [_SPIUse: Int] = [:]
  internal var _reservations: [_SPIUse: Int] = [:]
  internal var _reservedPerNamespace: [UInt32: Int] = [:]
  internal var _members: [UInt32: Set<UInt32>] = [:]
  /// The most SAs one namespace may hold.
  public var maximumPerNamespace: Int

  public var inboundMode: InboundLookupMode { _table.inboundMode }

  public init(inboundMode: InboundLookupMode) {
    self.init(inboundMode: inboundMode, maximumPerNamespace: Self.defaultMaximumPerNamespace)
  }

  public init() { self.init(inboundMode: .kernel) }

  public init(inboundMode: InboundLookupMode, maximumPerNamespace: Int, seed: UInt64 = SeededHash.randomSeed()) {
    _table = SPIHashTable(inboundMode: inboundMode, seed: seed)
    registry = NamespaceRegistry(seed: SeededHash.mix(seed, UInt64(3)))
    self.maximumPerNamespace = maximumPerNamespace
  }

  public var count: Int { _table.count }

  /// The SAs a namespace holds.
  public func count(inNamespace namespace: UInt32) -> Int { _members[namespace]?.count ?? 0 }

  /// SAs plus SPI reservations of a namespace: what its cap bounds.
  public func occupancy(ofNamespace namespace: UInt32) -> Int {
    count(inNamespace: namespace) + (_reservedPerNamespace[namespace] ?? 0)
  }

  /// The namespace of a VM, registering it when it is new (never with an id that still has
  /// SAs or reservations).
  public mutating func namespace(for identity: VirtualMachineIdentity) -> UInt32 {
    let members = _members
    let reserved = _reservedPerNamespace
    return registry.register(identity) { members[$0] != nil || reserved[$0] != nil }
  }

  // MARK: Lookup

  @inlinable
  public func lookup(_ key: SALookupKey) -> SALookupResult { _table.lookup(key) }

  @inlinable
  public func lookup(_ keys: UnsafeBufferPointer<SALookupKey>, into results: UnsafeMutableBufferPointer<SALookupResult>) {
    _table.lookup(keys, into: results)
  }

  public func findOutbound(template: PolicyTemplate, flow: FlowKey, policy: Policy) -> SALookupResult {
    _table.findOutbound(template: template, flow: flow, policy: policy)
  }

  // MARK: Updates

  @discardableResult
  public mutating func insert(_ sa: SecurityAssociation) throws(LookupError) -> UInt32 {
    try sa.validate()
    let use = _use(of: sa)
    let reservation = _reservation(consumedBy: use)
    // An SA taking its reservation's place does not change the namespace's occupancy.
    guard reservation != nil || occupancy(ofNamespace: sa.namespace) < maximumPerNamespace else {
      throw .namespaceFull(namespace: sa.namespace, limit: maximumPerNamespace)
    }
    let id = try _table.insert(sa)
    if let reservation { _release(reservation) }
    _count(use, by: 1)
    _members[sa.namespace, default: []].insert(id)
    return id
  }

  /// The reservation an SA with this use takes up: one for its exact destination, else one
  /// for every destination, else — for an {SPI}-form SA — any of its SPI.
  private func _reservation(consumedBy use: _SPIUse) -> _SPIUse? {
    if _reservations[use] != nil { return use }
    let everyDestination = _SPIUse(namespace: use.namespace, proto: use.proto, spi: use.spi, destination: nil)
    if _reservations[everyDestination] != nil { return everyDestination }
    if use.destination == nil {
      return _reservations.keys.first { $0.namespace == use.namespace && $0.proto == use.proto && $0.spi == use.spi }
    }
    return nil
  }

  /// Drops one reservation and its use count.
  private mutating func _release(_ use: _SPIUse) {
    guard let reserved = _reservations[use] else { return }
    _reservations[use] = reserved > 1 ? reserved - 1 : nil
    let perNamespace = (_reservedPerNamespace[use.namespace] ?? 1) - 1
    _reservedPerNamespace[use.namespace] = perNamespace > 0 ? perNamespace : nil
    _count(use, by: -1)
  }

  @discardableResult
  public mutating func remove(_ id: UInt32) throws(LookupError) -> SecurityAssociation {
    let sa = try _table.remove(id)
    _count(_use(of: sa), by: -1)
    _members[sa.namespace]?.remove(id)
    if _members[sa.namespace]?.isEmpty == true { _members[sa.namespace] = nil }
    return sa
  }

  /// Removes every SA of a namespace (a VM going away) and returns them; the namespace's
  /// registry entry is released too when it has one.
  @discardableResult
  public mutating func removeNamespace(_ namespace: UInt32) -> [SecurityAssociation] {
    let ids = (_members[namespace] ?? []).sorted()
    var removed: [SecurityAssociation] = []
    for id in ids { if let sa = try? remove(id) { removed.append(sa) } }
    for (use, count) in _reservations where use.namespace == namespace {
      for _ in 0..<count { _release(use) }
    }
    registry.release(namespace)
    return removed
  }

  private func _use(of sa: SecurityAssociation) -> _SPIUse {
    let everyDestination = inboundMode == .rfc4301 && sa.inboundMatch == .spi
    return _SPIUse(namespace: sa.namespace, proto: sa.proto, spi: sa.spi, destination: everyDestination ? nil : sa.destination)
  }

  private mutating func _count(_ use: _SPIUse, by delta: Int) {
    let any = _SPIUse(namespace: use.namespace, proto: use.proto, spi: use.spi, destination: nil)
    let exact = (_uses[use] ?? 0) + delta
    _uses[use] = exact > 0 ? exact : nil
    let total = (_usesAnyDestination[any] ?? 0) + delta
    _usesAnyDestination[any] = total > 0 ? total : nil
  }

  // MARK: SPI allocation

  /// Whether an SA or a reservation uses `spi` for this namespace, protocol and destination
  /// (nil: for any destination — what an {SPI}-form SA needs).
  public func isSPIInUse(_ spi: UInt32, namespace: UInt32, proto: IPsecProtocol = .esp, destination: IPAddress?) -> Bool {
    let everyDestination = _SPIUse(namespace: namespace, proto: proto, spi: spi, destination: nil)
    guard let destination else { return _usesAnyDestination[everyDestination] != nil }
    return _uses[everyDestination] != nil
      || _uses[_SPIUse(namespace: namespace, proto: proto, spi: spi, destination: destination)] != nil
  }

  /// Picks a random SPI in `range` that no SA or reservation uses for this namespace,
  /// protocol and destination, and reserves it until an SA with it is inserted or
  /// `releaseSPI` is called (the kernel's ALLOCSPI on a larval state).
  /// - Throws: `.invalidSPIRange` for an empty range or one reaching below 256,
  ///   `.spiRangeExhausted` when every SPI of the range is taken.
  public mutating func allocateSPI<G: RandomNumberGenerator>(
    namespace: UInt32, destination: IPAddress?, proto: IPsecProtocol = .esp,
    in range: ClosedRange<UInt32> = 0x100...0xFFFF_FFFF, using generator: inout G
  ) throws(LookupError) -> UInt32 {
    let minimum: UInt32 = proto == .ipcomp ? 1 : 256
    guard range.lowerBound >= minimum, proto != .ipcomp || range.upperBound <= 0xFFFF else {
      throw .invalidSPIRange(low: range.lowerBound, high: range.upperBound)
    }
    // Reservations count against the namespace's cap, so a VM cannot hoard SPIs either.
    guard occupancy(ofNamespace: namespace) < maximumPerNamespace else {
      throw .namespaceFull(namespace: namespace, limit: maximumPerNamespace)
    }
    func free(_ spi: UInt32) -> Bool { !isSPIInUse(spi, namespace: namespace, proto: proto, destination: destination) }
    var chosen: UInt32?
    // Random probes first (what the kernel does); they succeed quickly unless the range is nearly full.
    for _ in 0..<32 {
      let spi = UInt32.random(in: range, using: &generator)
      if free(spi) { chosen = spi; break }
    }
    if chosen == nil {
      // Then every SPI once, from a random start, to find the last free ones or prove there are none.
      let width = UInt64(range.upperBound - range.lowerBound) + 1
      let start = UInt64.random(in: 0..<width, using: &generator)
      var step: UInt64 = 0
      while step < width {
        let spi = range.lowerBound + UInt32((start + step) % width)
        if free(spi) { chosen = spi; break }
        step += 1
      }
    }
    guard let spi = chosen else {
      throw .spiRangeExhausted(namespace: namespace, low: range.lowerBound, high: range.upperBound)
    }
    let use = _SPIUse(namespace: namespace, proto: proto, spi: spi, destination: destination)
    _reservations[use, default: 0] += 1
    _reservedPerNamespace[namespace, default: 0] += 1
    _count(use, by: 1)
    return spi
  }

  /// `allocateSPI` with the system's random generator.
  public mutating func allocateSPI(namespace: UInt32, destination: IPAddress?, proto: IPsecProtocol = .esp,
                                   in range: ClosedRange<UInt32> = 0x100...0xFFFF_FFFF) throws(LookupError) -> UInt32 {
    var generator = SystemRandomNumberGenerator()
    return try allocateSPI(namespace: namespace, destination: destination, proto: proto, in: range, using: &generator)
  }

  /// Gives back a reservation that no SA took (a failed negotiation).
  /// - Returns: whether there was such a reservation.
  @discardableResult
  public mutating func releaseSPI(_ spi: UInt32, namespace: UInt32, destination: IPAddress?, proto: IPsecProtocol = .esp) -> Bool {
    let use = _SPIUse(namespace: namespace, proto: proto, spi: spi, destination: destination)
    guard _reservations[use] != nil else { return false }
    _release(use)
    return true
  }

  /// Outstanding SPI reservations.
  public var reservationCount: Int { _reservations.values.reduce(0, +) }

  // MARK: Introspection

  public func securityAssociation(id: UInt32) -> SecurityAssociation? { _table.securityAssociation(id: id) }
  public var securityAssociations: [SecurityAssociation] { _table.securityAssociations }

  public var memoryFootprint: Int {
    _table.memoryFootprint + (_uses.capacity + _usesAnyDestination.capacity) * (MemoryLayout<_SPIUse>.stride + 8)
      + count * 8
  }

  public var statistics: LookupStatistics {
    var counters = _table.statistics.counters
    counters.append(LookupStatistics.Counter("namespaces in use", _members.count))
    counters.append(LookupStatistics.Counter("registered VMs", registry.count))
    counters.append(LookupStatistics.Counter("largest namespace", _members.values.map(\.count).max() ?? 0))
    counters.append(LookupStatistics.Counter("SPI reservations", reservationCount))
    return LookupStatistics(counters)
  }

  /// Traps on a broken invariant: the table's, and the use counts agree with the SAs and reservations.
  public func checkInvariants() {
    _table.checkInvariants()
    var uses: [_SPIUse: Int] = _reservations
    for sa in securityAssociations { uses[_use(of: sa), default: 0] += 1 }
    precondition(uses == _uses, "NamespacedSAD: SPI use counts differ")
    precondition(_members.values.reduce(0) { $0 + $1.count } == count, "NamespacedSAD: namespace members differ")
    var reserved: [UInt32: Int] = [:]
    for (use, n) in _reservations { reserved[use.namespace, default: 0] += n }
    precondition(reserved == _reservedPerNamespace, "NamespacedSAD: reservations per namespace differ")
  }
}
