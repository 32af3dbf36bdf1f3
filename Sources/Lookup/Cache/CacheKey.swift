/// The secret words a cache hashes keys with, derived from its random seed.
///
/// Eight independent 64-bit words: each input word of a key is XORed with its own secret
/// before two words are multiplied together (the full 128-bit product folded to 64 bits, as
/// in wyhash's "mum": `SeededHash.fold`). The products of different word pairs are
/// independent, so the CPU computes them in parallel: a whole flow key hashes in about five
/// multiplies' latency.
public struct CacheHashKeys: Hashable, Sendable {
  public var k0, k1, k2, k3, k4, k5, k6, k7: UInt64

  /// The words for `seed` (SplitMix64 from it); the same seed gives the same words.
  public init(seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    k0 = generator.next(); k1 = generator.next(); k2 = generator.next(); k3 = generator.next()
    k4 = generator.next(); k5 = generator.next(); k6 = generator.next(); k7 = generator.next()
  }
}

/// A key a `FlowCache` can hold: compared exactly, hashed with the cache's own secret words.
public protocol CacheKey: Hashable, Sendable {
  /// A keyed hash of every field of the key. The cache takes the set from the high 32 bits
  /// and a tag from the low 32 bits.
  func cacheHash(_ keys: CacheHashKeys) -> UInt64

  /// Whether two keys are equal in every field (what `==` says, written for the hot path).
  static func cacheEqual(_ a: Self, _ b: Self) -> Bool
}

extension CacheKey {
  @inlinable @inline(__always)
  public static func cacheEqual(_ a: Self, _ b: Self) -> Bool { a == b }
}

extension FlowKey: CacheKey {
  /// Every field: addresses, ports, protocol, DSCP, mark, if_id, ifindex, namespace, family,
  /// direction and type — the cache is exact on the whole flow. Four independent keyed
  /// products of word pairs, then one more product of their combination.
  @inlinable @inline(__always)
  public func cacheHash(_ keys: CacheHashKeys) -> UInt64 {
    let high = SeededHash.fold(UInt64(truncatingIfNeeded: source &>> 64) ^ keys.k0,
                                  UInt64(truncatingIfNeeded: destination &>> 64) ^ keys.k1)
    let low = SeededHash.fold(UInt64(truncatingIfNeeded: source) ^ keys.k2,
                                 UInt64(truncatingIfNeeded: destination) ^ keys.k3)
    let context = SeededHash.fold((UInt64(mark) | UInt64(interfaceID) &<< 32) ^ keys.k4,
                                     (UInt64(ifindex) | UInt64(namespace) &<< 32) ^ keys.k5)
    let ports: UInt64 = UInt64(sourcePort) | UInt64(destinationPort) &<< 16 | UInt64(proto) &<< 32
      | UInt64(dscp) &<< 40 | UInt64(family.rawValue) &<< 48 | UInt64(direction.rawValue) &<< 54
      | UInt64(policyType.rawValue) &<< 60
    return SeededHash.fold((high ^ context) ^ keys.k6, (low &+ ports) ^ keys.k7)
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
    return (addresses | UInt128(words | more | (portsA ^ portsB) | (contextA ^ contextB))) == 0
  }
}

extension SALookupKey: CacheKey {
  @inlinable @inline(__always)
  public func cacheHash(_ keys: CacheHashKeys) -> UInt64 {
    let high = SeededHash.fold(UInt64(truncatingIfNeeded: destination &>> 64) ^ keys.k0,
                                  UInt64(truncatingIfNeeded: source &>> 64) ^ keys.k1)
    let low = SeededHash.fold(UInt64(truncatingIfNeeded: destination) ^ keys.k2,
                                 UInt64(truncatingIfNeeded: source) ^ keys.k3)
    let rest: UInt64 = UInt64(namespace) | UInt64(proto.rawValue) &<< 32 | UInt64(family.rawValue) &<< 40
    let spiMark = SeededHash.fold((UInt64(spi) | UInt64(mark) &<< 32) ^ keys.k4, rest ^ keys.k5)
    return SeededHash.fold((high ^ spiMark) ^ keys.k6, low ^ keys.k7)
  }
}

/// What targeted invalidation needs from a structure: which cached answers a change to one
/// entry could alter. Must be conservative: answering `true` too often costs hit rate, never
/// correctness; answering `false` wrongly would leave a stale answer visible.
public protocol TargetedInvalidation: LookupStructure {
  /// Whether inserting or removing `entry` could change the answer for `key`, whose cached
  /// answer is `cached`.
  static func change(of entry: Entry, mayAffect key: Key, cachedAnswer cached: Result) -> Bool

  /// Whether removing `entry` could change a cached answer `cached`, whatever its key. A
  /// removal can only change the answers it was: this lets the cache decide from its small
  /// per-way records without reading any key.
  static func removal(of entry: Entry, mayAffect cached: Result) -> Bool
}

extension PolicyDatabase {
  /// A policy can change a flow's answer only if it matches the flow (it may now win) or it
  /// is the flow's current answer (its removal or replacement changes it).
  @inlinable
  public static func change(of policy: Policy, mayAffect key: FlowKey, cachedAnswer cached: PolicyLookupResult) -> Bool {
    cached.index == policy.index || policy.matches(key)
  }

  /// The removed policy was the answer, or the answer does not change.
  @inlinable
  public static func removal(of policy: Policy, mayAffect cached: PolicyLookupResult) -> Bool {
    cached.index == policy.index
  }
}

extension SecurityAssociationDatabase {
  /// An SA can change an inbound answer only if it shares the key's namespace and SPI (every
  /// inbound form includes the SPI) or it is the current answer.
  public static func change(of sa: SecurityAssociation, mayAffect key: SALookupKey,
                            cachedAnswer cached: SALookupResult) -> Bool {
    cached.id == sa.id || (sa.spi == key.spi && sa.namespace == key.namespace)
  }

  /// The removed SA was the answer, or the answer does not change (kernel and RFC 4301
  /// forms alike: a lookup's answer is one matching SA; dropping another leaves it best).
  public static func removal(of sa: SecurityAssociation, mayAffect cached: SALookupResult) -> Bool {
    cached.id == sa.id
  }
}
