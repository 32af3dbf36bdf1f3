/// A key a `FlowCache` can hold: compared exactly, hashed with the cache's own seed.
public protocol CacheKey: Hashable, Sendable {
  /// A seeded hash of every field of the key.
  func cacheHash(seed: UInt64) -> UInt64

  /// Whether two keys are equal in every field (what `==` says, written for the hot path).
  static func cacheEqual(_ a: Self, _ b: Self) -> Bool
}

extension CacheKey {
  @inlinable @inline(__always)
  public static func cacheEqual(_ a: Self, _ b: Self) -> Bool { a == b }
}

extension FlowKey: CacheKey {
  /// Every field: addresses, ports, protocol, DSCP, mark, if_id, ifindex, namespace, family,
  /// direction and type — the cache is exact on the whole flow.
  @inlinable @inline(__always)
  public func cacheHash(seed: UInt64) -> UInt64 {
    // Fold to four words (the fields are independent inputs of the mix chain, so the
    // words' XOR combinations stay collision-resistant under a secret seed), then mix.
    var h = SeededHash.mix(seed, UInt64(truncatingIfNeeded: source &>> 64) ^ UInt64(truncatingIfNeeded: destination))
    h = SeededHash.mix(h, UInt64(truncatingIfNeeded: destination &>> 64) ^ UInt64(truncatingIfNeeded: source) &<< 1)
    h = SeededHash.mix(h, (UInt64(mark) | UInt64(interfaceID) &<< 32) ^ (UInt64(ifindex) &<< 16 | UInt64(namespace) &<< 48))
    let ports: UInt64 = UInt64(sourcePort) | UInt64(destinationPort) &<< 16
    let small: UInt64 = UInt64(proto) &<< 32 | UInt64(dscp) &<< 40 | UInt64(family.rawValue) &<< 48
    let context: UInt64 = UInt64(direction.rawValue) &<< 56 | UInt64(policyType.rawValue) &<< 60
    return SeededHash.mix(h, ports | small | context)
  }
}

extension FlowKey {
  /// Field by field with no short-circuit branches: two address compares and three words.
  @inlinable @inline(__always)
  public static func cacheEqual(_ a: FlowKey, _ b: FlowKey) -> Bool {
    let addresses = (a.source ^ b.source) | (a.destination ^ b.destination)
    let words = (UInt64(a.mark) | UInt64(a.interfaceID) &<< 32) ^ (UInt64(b.mark) | UInt64(b.interfaceID) &<< 32)
    let more = (UInt64(a.ifindex) | UInt64(a.namespace) &<< 32) ^ (UInt64(b.ifindex) | UInt64(b.namespace) &<< 32)
    let portsA: UInt64 = UInt64(a.sourcePort) | UInt64(a.destinationPort) &<< 16 | UInt64(a.proto) &<< 32 | UInt64(a.dscp) &<< 40
    let portsB: UInt64 = UInt64(b.sourcePort) | UInt64(b.destinationPort) &<< 16 | UInt64(b.proto) &<< 32 | UInt64(b.dscp) &<< 40
    let contextA: UInt64 = UInt64(a.family.rawValue) | UInt64(a.direction.rawValue) &<< 8 | UInt64(a.policyType.rawValue) &<< 16
    let contextB: UInt64 = UInt64(b.family.rawValue) | UInt64(b.direction.rawValue) &<< 8 | UInt64(b.policyType.rawValue) &<< 16
    return addresses == 0 && (words | more | (portsA ^ portsB) | (contextA ^ contextB)) == 0
  }
}

extension SALookupKey: CacheKey {
  @inlinable
  public func cacheHash(seed: UInt64) -> UInt64 {
    var h = SeededHash.mix(seed, destination)
    h = SeededHash.mix(h, source)
    h = SeededHash.mix(h, UInt64(spi) | UInt64(mark) &<< 32)
    let rest: UInt64 = UInt64(namespace) | UInt64(proto.rawValue) &<< 32 | UInt64(family.rawValue) &<< 40
    return SeededHash.mix(h, rest)
  }
}

/// What targeted invalidation needs from a structure: which cached answers a change to one
/// entry could alter. Must be conservative: answering `true` too often costs hit rate, never
/// correctness; answering `false` wrongly would leave a stale answer visible.
public protocol TargetedInvalidation: LookupStructure {
  /// Whether inserting or removing `entry` could change the answer for `key`, whose cached
  /// answer is `cached`.
  static func change(of entry: Entry, mayAffect key: Key, cachedAnswer cached: Result) -> Bool
}

extension PolicyDatabase {
  /// A policy can change a flow's answer only if it matches the flow (it may now win) or it
  /// is the flow's current answer (its removal or replacement changes it).
  @inlinable
  public static func change(of policy: Policy, mayAffect key: FlowKey, cachedAnswer cached: PolicyLookupResult) -> Bool {
    cached.index == policy.index || policy.matches(key)
  }
}

extension SecurityAssociationDatabase {
  /// An SA can change an inbound answer only if it shares the key's namespace and SPI (every
  /// inbound form includes the SPI) or it is the current answer.
  public static func change(of sa: SecurityAssociation, mayAffect key: SALookupKey,
                            cachedAnswer cached: SALookupResult) -> Bool {
    cached.id == sa.id || (sa.spi == key.spi && sa.namespace == key.namespace)
  }
}
