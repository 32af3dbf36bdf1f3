/// The secret words a cache hashes keys with, derived from its random seed.
///
/// Eight independent 64-bit words: each word of a key's `CacheKeyWords` is XORed with its own
/// secret before two words are multiplied together (the full 128-bit product folded to 64
/// bits, as in wyhash's "mum": `SeededHash.fold`). The four products are independent, so the
/// CPU computes them in parallel: a whole flow key hashes in about one multiply's latency
/// plus three adds.
public struct CacheHashKeys: Hashable, Sendable {
  public var k0, k1, k2, k3, k4, k5, k6, k7: UInt64

  /// The words for `seed` (SplitMix64 from it); the same seed gives the same words.
  public init(seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    k0 = generator.next(); k1 = generator.next(); k2 = generator.next(); k3 = generator.next()
    k4 = generator.next(); k5 = generator.next(); k6 = generator.next(); k7 = generator.next()
  }
}

/// A key as a flow cache stores, hashes and compares it: eight 64-bit words, one cache line.
///
/// Made by `CacheKey.cacheWords` from every field of a key, so that the hot path hashes and
/// compares plain words — no per-field shifts and enum conversions — and a cached key is
/// turned back into its `CacheKey` only when a targeted invalidation asks a structure about it.
@frozen
public struct CacheKeyWords: Hashable, Sendable, BitwiseCopyable {
  public var w0, w1, w2, w3, w4, w5, w6, w7: UInt64

  @inlinable @inline(__always)
  public init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64,
              _ w4: UInt64, _ w5: UInt64, _ w6: UInt64, _ w7: UInt64) {
    self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    self.w4 = w4; self.w5 = w5; self.w6 = w6; self.w7 = w7
  }

  /// A keyed hash of the eight words: four independent products of keyed word pairs (each
  /// the full 128-bit product folded to 64 bits, `SeededHash.fold`), summed. The products do
  /// not depend on one another, so the CPU computes them in parallel.
  @inlinable @inline(__always)
  public func hash(_ keys: CacheHashKeys) -> UInt64 {
    SeededHash.fold(w0 ^ keys.k0, w1 ^ keys.k1) &+ SeededHash.fold(w2 ^ keys.k2, w3 ^ keys.k3)
      &+ SeededHash.fold(w4 ^ keys.k4, w5 ^ keys.k5) &+ SeededHash.fold(w6 ^ keys.k6, w7 ^ keys.k7)
  }

  /// Whether all eight words are equal, without a branch per word.
  @inlinable @inline(__always)
  public static func equal(_ a: CacheKeyWords, _ b: CacheKeyWords) -> Bool {
    ((a.w0 ^ b.w0) | (a.w1 ^ b.w1) | (a.w2 ^ b.w2) | (a.w3 ^ b.w3)
      | (a.w4 ^ b.w4) | (a.w5 ^ b.w5) | (a.w6 ^ b.w6) | (a.w7 ^ b.w7)) == 0
  }
}

/// A key a `FlowCache` can hold: packed into eight words that are equal exactly when the keys
/// are, and rebuilt from them.
public protocol CacheKey: Hashable, Sendable {
  /// Every field of the key in eight words: two keys are equal exactly when their words are.
  var cacheWords: CacheKeyWords { get }

  /// The key whose `cacheWords` are `words`. Only words made by `cacheWords` are given.
  init(cacheWords words: CacheKeyWords)
}

extension CacheKey {
  /// The keyed hash the cache uses: the set from the high 32 bits, a tag from the low 32 bits.
  @inlinable @inline(__always)
  public func cacheHash(_ keys: CacheHashKeys) -> UInt64 { cacheWords.hash(keys) }
}

/// The storage byte of a field-less enum (its case's position), and back: what the packed
/// words hold for family, direction, type and protocol, so that adjacent one-byte fields
/// pack with one load instead of a conversion each.
@usableFromInline @inline(__always)
func _caseByte<E>(_ value: E) -> UInt64 {
  UInt64(unsafeBitCast(value, to: UInt8.self))
}

@usableFromInline @inline(__always)
func _case<E>(_ byte: UInt64, as _: E.Type, cases: Int) -> E {
  let tag = UInt8(truncatingIfNeeded: byte)
  // Words not made by `cacheWords` could hold a byte that is no case: trap, never bitcast it.
  precondition(Int(tag) < cases, "CacheKeyWords: \(tag) is not a case of \(E.self)")
  return unsafeBitCast(tag, to: E.self)
}

/// Case counts for `_case` (computed once: `allCases` builds an array on every call).
@usableFromInline let _addressFamilyCases = AddressFamily.allCases.count
@usableFromInline let _policyDirectionCases = PolicyDirection.allCases.count
@usableFromInline let _policyTypeCases = PolicyType.allCases.count
@usableFromInline let _ipsecProtocolCases = IPsecProtocol.allCases.count

extension FlowKey: CacheKey {
  /// Addresses (four words), mark and if_id, ifindex and namespace, ports/protocol/DSCP/
  /// family/direction, type: every field, each in its own bits. The fields of each word are
  /// adjacent in the key, so each word is one load.
  @inlinable @inline(__always)
  public var cacheWords: CacheKeyWords {
    CacheKeyWords(
      UInt64(truncatingIfNeeded: source &>> 64), UInt64(truncatingIfNeeded: source),
      UInt64(truncatingIfNeeded: destination &>> 64), UInt64(truncatingIfNeeded: destination),
      UInt64(mark) | UInt64(interfaceID) &<< 32, UInt64(ifindex) | UInt64(namespace) &<< 32,
      UInt64(sourcePort) | UInt64(destinationPort) &<< 16 | UInt64(proto) &<< 32 | UInt64(dscp) &<< 40
        | _caseByte(family) &<< 48 | _caseByte(direction) &<< 56,
      _caseByte(policyType))
  }

  @inlinable
  public init(cacheWords words: CacheKeyWords) {
    self = FlowKey(source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0))
    source = UInt128(words.w0) &<< 64 | UInt128(words.w1)
    destination = UInt128(words.w2) &<< 64 | UInt128(words.w3)
    mark = UInt32(truncatingIfNeeded: words.w4)
    interfaceID = UInt32(truncatingIfNeeded: words.w4 &>> 32)
    ifindex = UInt32(truncatingIfNeeded: words.w5)
    namespace = UInt32(truncatingIfNeeded: words.w5 &>> 32)
    sourcePort = UInt16(truncatingIfNeeded: words.w6)
    destinationPort = UInt16(truncatingIfNeeded: words.w6 &>> 16)
    proto = UInt8(truncatingIfNeeded: words.w6 &>> 32)
    dscp = UInt8(truncatingIfNeeded: words.w6 &>> 40)
    family = _case(words.w6 &>> 48, as: AddressFamily.self, cases: _addressFamilyCases)
    direction = _case(words.w6 &>> 56, as: PolicyDirection.self, cases: _policyDirectionCases)
    policyType = _case(words.w7, as: PolicyType.self, cases: _policyTypeCases)
  }
}

extension SALookupKey: CacheKey {
  /// Addresses (four words), SPI and mark, namespace/protocol/family.
  @inlinable @inline(__always)
  public var cacheWords: CacheKeyWords {
    CacheKeyWords(
      UInt64(truncatingIfNeeded: destination &>> 64), UInt64(truncatingIfNeeded: destination),
      UInt64(truncatingIfNeeded: source &>> 64), UInt64(truncatingIfNeeded: source),
      UInt64(spi) | UInt64(mark) &<< 32,
      UInt64(namespace) | _caseByte(proto) &<< 32 | _caseByte(family) &<< 40, 0, 0)
  }

  @inlinable
  public init(cacheWords words: CacheKeyWords) {
    self = SALookupKey(destination: IPAddress(ipv4: 0), spi: 0)
    destination = UInt128(words.w0) &<< 64 | UInt128(words.w1)
    source = UInt128(words.w2) &<< 64 | UInt128(words.w3)
    spi = UInt32(truncatingIfNeeded: words.w4)
    mark = UInt32(truncatingIfNeeded: words.w4 &>> 32)
    namespace = UInt32(truncatingIfNeeded: words.w5)
    proto = _case(words.w5 &>> 32, as: IPsecProtocol.self, cases: _ipsecProtocolCases)
    family = _case(words.w5 &>> 40, as: AddressFamily.self, cases: _addressFamilyCases)
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
