// SPIHashTable — the SAD as a datapath wants it: one memory round trip per inbound lookup.
//
// Idea
//   Inbound lookups (every ESP/AH packet received) go to one open-addressing table whose
//   64-byte buckets each hold a whole inbound SA key, its mark and its id, aligned to cache
//   lines. The key is (namespace, SPI, protocol) plus, depending on the SA's *form*, the
//   family and destination ({SPI, dst}) and the source ({SPI, dst, src}). Kernel mode
//   registers every SA under {SPI, dst} (Linux's `byspi` hash: dst, SPI, proto + mark);
//   RFC 4301 mode registers each SA under its own `inboundMatch` form and a lookup probes
//   the forms longest first, skipping forms that hold no SA — DPDK's `rte_ipsec_sad`
//   precedence with one table instead of three. SAs that share a key (they differ only in
//   marks) carry a flag; a lookup that finds its key without the flag stops at once,
//   otherwise it compares the run's candidates by age (newest wins, as in the kernel).
//
//   Outbound lookups (`xfrm_state_find`) use a second, control-path index keyed like the
//   kernel's `bydst` hash: (namespace, family, dst, src, reqid); pass 1 probes the exact
//   source, pass 2 the wildcard source. Full SAs live in a slot array beside both indexes.
//
// Complexity (n SAs)
//   inbound lookup O(1) expected: one hash and one round trip to memory for two adjacent
//   buckets (kernel mode; up to three in RFC 4301 mode when all three forms are in use); outbound O(1 + SAs sharing the bydst key);
//   insert/remove O(1) expected (amortised over doubling).
//
// Memory
//   64 bytes per bucket at a load of at most 1/2 (128–256 B per SA) for the inbound table,
//   plus the full `SecurityAssociation` per slot, the id index, and the outbound index (a
//   map of bydst keys to list heads and two 4-byte links per slot): 350–900 B per SA in all.
//   The one-cache-line bucket is the price of one miss per lookup.
//
// Good at / bad at
//   Constant-time inbound lookups at any size, in both inbound modes, with a per-table
//   random seed (a crafted SPI set cannot collide by design). Bad at memory compared with
//   a compact fingerprint table; SAs sharing one key differ only by mark and are compared
//   linearly (the kernel does the same).
//
// Thread safety
//   A value type (the bucket table is a copy-on-write class); lookups do not mutate.
//   Concurrent lookups on an unchanging table are safe.

/// The hashed SAD: inbound by SPI (kernel or RFC 4301 precedence), outbound by the kernel's
/// bydst key. See the file comment.
public struct SPIHashTable: SecurityAssociationDatabase, Sendable {
  @usableFromInline
  internal struct _Record: Sendable {
    @usableFromInline var sa: SecurityAssociation
    @usableFromInline var sequence: UInt64
  }

  public let inboundMode: InboundLookupMode
  @usableFromInline internal var _inbound: _InboundTable
  @usableFromInline internal var _count = 0
  @usableFromInline internal var _formCounts = _FormCounts()
  @usableFromInline internal var _records: [_Record?] = []
  @usableFromInline internal var _freeSlots: [UInt32] = []
  @usableFromInline internal var _byID: SlotHashSet
  @usableFromInline internal var _outbound: _OutboundIndex
  @usableFromInline internal var _nextSequence: UInt64 = 1
  @usableFromInline internal var _nextID: UInt32 = 1

  /// Creates an empty table with random hash seeds (fixed ones only under
  /// `LOOKUP_DETERMINISTIC_HASHING=1`).
  public init(inboundMode: InboundLookupMode) {
    self.init(inboundMode: inboundMode, seed: SeededHash.randomSeed())
  }

  public init() { self.init(inboundMode: .kernel) }

  /// Creates an empty table whose hashes derive from `seed` (tests and the adversarial
  /// experiment use this to know the hash an attacker would have to guess).
  public init(inboundMode: InboundLookupMode, seed: UInt64) {
    self.inboundMode = inboundMode
    _inbound = _InboundTable(seed: seed)
    _byID = SlotHashSet(seed: SeededHash.mix(seed, UInt64(1)))
    _outbound = _OutboundIndex(seed: SeededHash.mix(seed, UInt64(2)))
  }

  public var count: Int { _count }

  /// The inbound form an SA is registered under in this table's mode.
  @inlinable
  internal func _form(of sa: SecurityAssociation) -> InboundMatch {
    inboundMode == .kernel ? .spiAndDestination : sa.inboundMatch
  }

  // MARK: Lookup

  @inlinable
  public func lookup(_ key: SALookupKey) -> SALookupResult {
    let table = _inbound
    switch inboundMode {
    case .kernel:
      let probe = _InboundKey(key, form: 1)
      return SALookupResult(id: table.find(probe, hash: probe.hash(table._hashing), mark: key.mark))
    case .rfc4301:
      var form: UInt8 = 2
      while true {
        if _formCounts[form] > 0 {
          let probe = _InboundKey(key, form: form)
          let id = table.find(probe, hash: probe.hash(table._hashing), mark: key.mark)
          if id != 0 { return SALookupResult(id: id) }
        }
        if form == 0 { return .none }
        form -= 1
      }
    }
  }

  /// Batch lookup: hashes a group of keys and prefetches their home buckets before probing
  /// any, so the group's cache misses overlap.
  @inlinable
  public func lookup(_ keys: UnsafeBufferPointer<SALookupKey>, into results: UnsafeMutableBufferPointer<SALookupResult>) {
    precondition(results.count >= keys.count, "batch result buffer too small")
    let table = _inbound
    let hashing = table._hashing
    let group = 16
    // The forms to probe, longest first.
    let forms: (UInt8, UInt8, UInt8)
    let formCount: Int
    if inboundMode == .kernel {
      forms = (1, 0, 0)
      formCount = 1
    } else {
      var f = (UInt8(0), UInt8(0), UInt8(0))
      var n = 0
      for form: UInt8 in stride(from: 2, through: 0, by: -1) where _formCounts[form] > 0 {
        switch n {
        case 0: f.0 = form
        case 1: f.1 = form
        default: f.2 = form
        }
        n += 1
      }
      forms = f
      formCount = n
    }
    if formCount == 0 {
      for i in keys.indices { results[i] = .none }
      return
    }
    if inboundMode == .kernel {
      // One form: a software pipeline keeps `distance` misses in flight at every step
      // (hash and prefetch key i + distance, then probe key i).
      let distance = 16
      withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 32) { ring in
        let n = keys.count
        for j in 0..<min(distance, n) {
          let hash = _InboundKey(keys[j], form: 1).hash(hashing)
          ring[j & 31] = hash
          table.prefetchPair(hash: hash)
        }
        for i in 0..<n {
          let ahead = i &+ distance
          if ahead < n {
            let hash = _InboundKey(keys[ahead], form: 1).hash(hashing)
            ring[ahead & 31] = hash
            table.prefetchPair(hash: hash)
          }
          results[i] = SALookupResult(id: table.find(_InboundKey(keys[i], form: 1), hash: ring[i & 31], mark: keys[i].mark))
        }
      }
      return
    }
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: group * 3) { hashes in
      var start = 0
      while start < keys.count {
        let end = min(start + group, keys.count)
        // Hash the whole group first, then prefetch in a tight loop, so every miss of the
        // group is in flight before the first probe waits for one.
        for i in start..<end {
          for f in 0..<formCount {
            let form = f == 0 ? forms.0 : (f == 1 ? forms.1 : forms.2)
            hashes[(i - start) * 3 + f] = _InboundKey(keys[i], form: form).hash(hashing)
          }
        }
        for i in start..<end {
          for f in 0..<formCount { table.prefetch(hash: hashes[(i - start) * 3 + f]) }
        }
        for i in start..<end {
          var id: UInt32 = 0
          for f in 0..<formCount {
            let form = f == 0 ? forms.0 : (f == 1 ? forms.1 : forms.2)
            id = table.find(_InboundKey(keys[i], form: form), hash: hashes[(i - start) * 3 + f], mark: keys[i].mark)
            if id != 0 { break }
          }
          results[i] = SALookupResult(id: id)
        }
        start = end
      }
    }
  }

  public func findOutbound(template: PolicyTemplate, flow: FlowKey, policy: Policy) -> SALookupResult {
    let (family, destination, source) = template.outboundEndpoints(for: flow)
    let mark = policy.mark.value & policy.mark.mask
    // Pass 1: exact (dst, src). Pass 2: SAs installed with a wildcard source.
    var passSource = source
    while true {
      var best: _Record?
      let key = _OutboundIndex.Key(namespace: flow.namespace, family: family, destination: destination, source: passSource,
                                   reqid: template.reqid)
      _outbound.forEach(key: key) { slot in
        guard let record = _records[Int(slot)] else { return }
        let sa = record.sa
        guard mark & sa.mark.mask == sa.mark.value && sa.interfaceID == policy.interfaceID
          && sa.mode == template.mode && sa.proto == template.proto
          && (template.spi == 0 || sa.spi == template.spi)
          && (sa.selector.map { $0.matches(flow) } ?? true)
        else { return }
        if best == nil || record.sequence > best!.sequence { best = record }
      }
      if let best { return SALookupResult(id: best.sa.id) }
      if passSource == 0 { return .none }
      passSource = 0
    }
  }

  // MARK: Updates

  @discardableResult
  public mutating func insert(_ sa: SecurityAssociation) throws(LookupError) -> UInt32 {
    try sa.validate()
    var stored = sa
    if stored.id != 0, _slot(ofID: stored.id) != nil { throw .securityAssociationExists(existingID: stored.id) }
    if let conflict = _oldestConflict(with: stored) { throw .securityAssociationExists(existingID: conflict) }
    if stored.id == 0 {
      while _nextID == 0 || _slot(ofID: _nextID) != nil { _nextID &+= 1 }
      stored.id = _nextID
      _nextID &+= 1
    }
    _makeUnique()
    let sequence = _nextSequence
    _nextSequence += 1
    let slot: UInt32
    if let free = _freeSlots.popLast() {
      slot = free
      _records[Int(slot)] = _Record(sa: stored, sequence: sequence)
    } else {
      slot = UInt32(_records.count)
      _records.append(_Record(sa: stored, sequence: sequence))
    }
    if (_count + 1) * 2 > _inbound.capacity { _inbound = _inbound.grown() }
    let form = _form(of: stored)
    _inbound.insert(_InboundBucket(stored, form: form, sequence: sequence))
    _count += 1
    _formCounts[form.rawValue] += 1
    _byID.insert(slot, hash: Self._idHash(seed: _byID.seed, stored.id))
    _outbound.insert(slot: slot, key: _OutboundIndex.Key(stored))
    return stored.id
  }

  @discardableResult
  public mutating func remove(_ id: UInt32) throws(LookupError) -> SecurityAssociation {
    guard let slot = _slot(ofID: id), let record = _records[Int(slot)] else { throw .securityAssociationNotFound(id: id) }
    _makeUnique()
    let sa = record.sa
    _inbound.remove(id: id, key: _InboundKey(sa, form: _form(of: sa)))
    _count -= 1
    _formCounts[_form(of: sa).rawValue] -= 1
    _byID.remove(slot, hash: Self._idHash(seed: _byID.seed, id))
    _outbound.remove(slot: slot, key: _OutboundIndex.Key(sa))
    _records[Int(slot)] = nil
    _freeSlots.append(slot)
    return sa
  }

  /// The id of the oldest SA `sa` may not be added beside (`LinearSAD.conflicts`), if any.
  internal func _oldestConflict(with sa: SecurityAssociation) -> UInt32? {
    let key = _InboundKey(sa, form: _form(of: sa))
    var oldest: (sequence: UInt64, id: UInt32)?
    let newMark = sa.mark.value & sa.mark.mask
    _inbound.forEachInRun(hash: key.hash(_inbound._hashing)) { bucket in
      guard key.isKey(of: bucket), newMark & bucket.pointee.markMask == bucket.pointee.markValue else { return }
      if oldest == nil || bucket.pointee.sequence < oldest!.sequence {
        oldest = (bucket.pointee.sequence, bucket.pointee.id)
      }
    }
    return oldest?.id
  }

  internal mutating func _makeUnique() {
    if !isKnownUniquelyReferenced(&_inbound) { _inbound = _inbound.copy() }
  }

  internal static func _idHash(seed: UInt64, _ id: UInt32) -> UInt64 { SeededHash.mix(seed, UInt64(id)) }

  internal func _slot(ofID id: UInt32) -> UInt32? {
    _byID.find(hash: Self._idHash(seed: _byID.seed, id)) { _records[Int($0)]?.sa.id == id }
  }

  // MARK: Introspection

  /// The home bucket of an inbound key in a table of `capacity` buckets hashed with `seed`:
  /// what an attacker who knew the seed would aim SPIs at (the robustness experiment builds
  /// colliding SA sets with it; a table's real seed is random and private).
  public static func homeBucket(of key: SALookupKey, seed: UInt64, capacity: Int) -> Int {
    homeBucketFunction(seed: seed, capacity: capacity)(key)
  }

  /// `homeBucket(of:seed:capacity:)` with the seed's parameters computed once.
  public static func homeBucketFunction(seed: UInt64, capacity: Int) -> @Sendable (SALookupKey) -> Int {
    let hashing = _InboundHashing(seed: seed)
    return { key in Int(truncatingIfNeeded: _InboundKey(key, form: 1).hash(hashing)) & (capacity - 1) }
  }

  /// The number of buckets of the inbound table.
  public var bucketCount: Int { _inbound.capacity }

  public func securityAssociation(id: UInt32) -> SecurityAssociation? {
    _slot(ofID: id).flatMap { _records[Int($0)]?.sa }
  }

  public var securityAssociations: [SecurityAssociation] {
    _records.compactMap { $0 }.sorted { $0.sequence < $1.sequence }.map(\.sa)
  }

  public var memoryFootprint: Int {
    _inbound.capacity * MemoryLayout<_InboundBucket>.stride
      + _records.capacity * MemoryLayout<_Record?>.stride + _freeSlots.capacity * 4
      + _byID.memoryFootprint + _outbound.memoryFootprint
  }

  public var statistics: LookupStatistics {
    var shared = 0
    for i in 0..<_inbound.capacity where _inbound._buckets[i].sequence != 0
      && _inbound._buckets[i].flags & _InboundBucket.sharedKey != 0 { shared += 1 }
    return LookupStatistics([
      "security associations": count,
      "buckets": _inbound.capacity,
      "load per mille": count * 1000 / _inbound.capacity,
      "{SPI} SAs": _formCounts.spi,
      "{SPI, dst} SAs": _formCounts.destination,
      "{SPI, dst, src} SAs": _formCounts.source,
      "SAs sharing a key": shared,
    ])
  }

  /// Walks the structure and traps on a broken invariant (the bucket table's, and that every
  /// live slot is findable by id and by its inbound key).
  public func checkInvariants() {
    _inbound.checkInvariants(count: _count, formCounts: _formCounts)
    var live = 0
    for (slot, record) in _records.enumerated() {
      guard let record else { continue }
      live += 1
      precondition(_slot(ofID: record.sa.id) == UInt32(slot), "SPIHashTable: id index wrong")
      let key = _InboundKey(record.sa, form: _form(of: record.sa))
      var found = false
      _inbound.forEachInRun(hash: key.hash(_inbound._hashing)) { bucket in
        if bucket.pointee.id == record.sa.id && key.isKey(of: bucket) && bucket.pointee.sequence == record.sequence {
          found = true
        }
      }
      precondition(found, "SPIHashTable: SA \(record.sa.id) missing from the inbound table")
    }
    precondition(live == count && _byID.count == live && _outbound.count == live, "SPIHashTable: counts differ")
    _byID.checkInvariants()
  }
}
