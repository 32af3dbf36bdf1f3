/// The secret words a cache hashes keys with, derived from its random seed.
///
/// Eight independent 64-bit words: each word of a key's `CacheKeyWords` is XORed with its own
/// secret before two words are multiplied together (the full 128-bit product folded to 64
/// bits, as in wyhash's "mum": `SeededHash.fold`). The products are independent, so the CPU
/// computes them in parallel: a key hashes in about one multiply's latency plus an add or three.
public struct CacheHashKeys: Hashable, Sendable {
  public var k0, k1, k2, k3, k4, k5, k6, k7: UInt64

  /// The words for `seed` (SplitMix64 from it); the same seed gives the same words.
  public init(seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    k0 = generator.next(); k1 = generator.next(); k2 = generator.next(); k3 = generator.next()
    k4 = generator.next(); k5 = generator.next(); k6 = generator.next(); k7 = generator.next()
  }
}

/// Four 64-bit words: half of a `CacheKeyWords`, half a cache line.
@frozen
public struct CacheKeyHalf: Hashable, Sendable, BitwiseCopyable {
  public var w0, w1, w2, w3: UInt64

  @inlinable @inline(__always)
  public init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
    self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
  }

  /// Whether all four words are equal, without a branch per word.
  @inlinable @inline(__always)
  public static func equal(_ a: CacheKeyHalf, _ b: CacheKeyHalf) -> Bool {
    ((a.w0 ^ b.w0) | (a.w1 ^ b.w1) | (a.w2 ^ b.w2) | (a.w3 ^ b.w3)) == 0
  }
}

/// A key as a flow cache stores, hashes and compares it: a head of four 64-bit words and, for
/// keys that do not fit in it, a tail of four more.
///
/// Made by `CacheKey.cacheWords` from every field of a key, so that the hot path hashes and
/// compares plain words — no per-field shifts and enum conversions — and a cached key is
/// turned back into its `CacheKey` only when a targeted invalidation asks a structure about it.
/// A key whose fields fit in 32 bytes (an IPv4 flow: both addresses in one word) is its head
/// alone: it hashes with two products instead of four, compares four words instead of eight
/// and takes half a line, so a 4-way set's heads are two lines. Bit 63 of the head's last
/// word (`tailFlag`) says whether the tail is part of the key; the tail of a key without it is
/// ignored by `==`, `hash(_:)`, `equal` and the cache.
@frozen
public struct CacheKeyWords: Hashable, Sendable, BitwiseCopyable {
  public var head: CacheKeyHalf
  public var tail: CacheKeyHalf

  /// Set in `head.w3` exactly when the key needs its tail.
  public static let tailFlag: UInt64 = 1 << 63

  @inlinable @inline(__always)
  public init(head: CacheKeyHalf, tail: CacheKeyHalf) {
    self.head = head
    self.tail = tail
  }

  /// Whether the tail is part of the key.
  @inlinable @inline(__always)
  public var hasTail: Bool { head.w3 & Self.tailFlag != 0 }

  /// A keyed hash of the words: two independent products of keyed word pairs for the head,
  /// two more for a tail (each the full 128-bit product folded to 64 bits,
  /// `SeededHash.fold`), summed. The products do not depend on one another, so the CPU
  /// computes them in parallel.
  @inlinable @inline(__always)
  public func hash(_ keys: CacheHashKeys) -> UInt64 {
    let hash = SeededHash.fold(head.w0 ^ keys.k0, head.w1 ^ keys.k1) &+ SeededHash.fold(head.w2 ^ keys.k2, head.w3 ^ keys.k3)
    guard hasTail else { return hash }
    return hash &+ SeededHash.fold(tail.w0 ^ keys.k4, tail.w1 ^ keys.k5) &+ SeededHash.fold(tail.w2 ^ keys.k6, tail.w3 ^ keys.k7)
  }

  /// Whether the keys are equal: their heads, and their tails if they have them (the flag is
  /// in the head, so equal heads agree on having a tail).
  @inlinable @inline(__always)
  public static func equal(_ a: CacheKeyWords, _ b: CacheKeyWords) -> Bool {
    CacheKeyHalf.equal(a.head, b.head) && (!a.hasTail || CacheKeyHalf.equal(a.tail, b.tail))
  }

  @inlinable
  public static func == (a: CacheKeyWords, b: CacheKeyWords) -> Bool { equal(a, b) }

  @inlinable
  public func hash(into hasher: inout Hasher) {
    hasher.combine(head)
    if hasTail { hasher.combine(tail) }
  }
}

/// A key a `FlowCache` can hold: packed into words that are equal exactly when the keys are,
/// and rebuilt from them.
public protocol CacheKey: Hashable, Sendable {
  /// Every field of the key in a head of four words and, where they do not fit, a tail of
  /// four more (`CacheKeyWords.tailFlag`): two keys are equal exactly when their words are.
  var cacheWords: CacheKeyWords { get }

  /// The key whose `cacheWords` are `words`. Only words made by `cacheWords` are given (a
  /// key without a tail may be given any tail).
  init(cacheWords words: CacheKeyWords)
}

extension CacheKey {
  /// The keyed hash the cache uses: the set from the high 32 bits, a tag from the low 32 bits.
  @inlinable @inline(__always)
  public func cacheHash(_ keys: CacheHashKeys) -> UInt64 { cacheWords.hash(keys) }
}

/// Whether two addresses both fit in 32 bits, so a key holds them in one word. Addresses are
/// left-aligned (`IPAddress.bits`): an IPv4 address is the top 32 bits, the low 96 zero.
@inlinable @inline(__always)
func _bothFit32Bits(_ a: UInt128, _ b: UInt128) -> Bool {
  (UInt64(truncatingIfNeeded: a) | UInt64(truncatingIfNeeded: b)
    | (UInt64(truncatingIfNeeded: a &>> 64) | UInt64(truncatingIfNeeded: b &>> 64)) & 0xffff_ffff) == 0
}

/// The top 32 bits of `a` and of `b` in one word.
@inlinable @inline(__always)
func _high32Pair(_ a: UInt128, _ b: UInt128) -> UInt64 {
  UInt64(truncatingIfNeeded: a &>> 96) | UInt64(truncatingIfNeeded: b &>> 64) & 0xffff_ffff_0000_0000
}

/// The two addresses `_high32Pair` and `_addressTail` packed, in the same order: from the
/// tail when the key has one, else from the head's first word.
@inlinable @inline(__always)
func _addressPair(_ words: CacheKeyWords) -> (UInt128, UInt128) {
  if words.hasTail {
    return (UInt128(words.tail.w0) &<< 64 | UInt128(words.tail.w1), UInt128(words.tail.w2) &<< 64 | UInt128(words.tail.w3))
  }
  return (UInt128(words.head.w0 & 0xffff_ffff) &<< 96, UInt128(words.head.w0 &>> 32) &<< 96)
}

/// `a` and `b` as four words.
@inlinable @inline(__always)
func _addressTail(_ a: UInt128, _ b: UInt128) -> CacheKeyHalf {
  CacheKeyHalf(UInt64(truncatingIfNeeded: a &>> 64), UInt64(truncatingIfNeeded: a),
               UInt64(truncatingIfNeeded: b &>> 64), UInt64(truncatingIfNeeded: b))
}

/// The storage byte of a field-less enum (its case's position), and back: what the packed
/// words hold for family, direction, type and protocol, so that adjacent one-byte fields
/// pack with one load instead of a conversion each.
@inlinable @inline(__always)
func _caseByte<E>(_ value: E) -> UInt64 {
  UInt64(unsafeBitCast(value, to: UInt8.self))
}

@inlinable @inline(__always)
func _case<E>(_ byte: UInt64, as _: E.Type, cases: Int) -> E {
  let tag = UInt8(truncatingIfNeeded: byte)
  // Words not made by `cacheWords` could hold a byte that is no case: trap, never bitcast it.
  precondition(Int(tag) < cases, "CacheKeyWords: \(tag) is not a case of \(E.self)")
  return unsafeBitCast(tag, to: E.self)
}

/// Case counts for `_case`, as constants the compiler folds: `allCases` builds an array on
/// every call, and a global initialised from it is read through a lazy accessor — a call
/// each, three per key rebuilt on every cache miss. `_caseCountsAreCurrent` checks them
/// (asserted when a cache is made).
@inlinable var _addressFamilyCases: Int { 2 }
@inlinable var _policyDirectionCases: Int { 3 }
@inlinable var _policyTypeCases: Int { 2 }
@inlinable var _ipsecProtocolCases: Int { 3 }

/// Whether the constants above are the enums' case counts.
func _caseCountsAreCurrent() -> Bool {
  _addressFamilyCases == AddressFamily.allCases.count && _policyDirectionCases == PolicyDirection.allCases.count
    && _policyTypeCases == PolicyType.allCases.count && _ipsecProtocolCases == IPsecProtocol.allCases.count
}

extension FlowKey: CacheKey {
  /// Head: both addresses' top 32 bits, mark and if_id, ifindex and namespace, then ports/
  /// protocol/DSCP/family/direction (adjacent in the key: one load) with the type at bit 60
  /// and the tail flag. Tail: the full addresses, needed only when one of them does not fit
  /// in 32 bits (IPv6; an IPv4 flow never has a tail). Every field, each in its own bits.
  @inlinable @inline(__always)
  public var cacheWords: CacheKeyWords {
    let short = _bothFit32Bits(source, destination)
    return CacheKeyWords(
      head: CacheKeyHalf(
        _high32Pair(source, destination),
        UInt64(mark) | UInt64(interfaceID) &<< 32, UInt64(ifindex) | UInt64(namespace) &<< 32,
        UInt64(sourcePort) | UInt64(destinationPort) &<< 16 | UInt64(proto) &<< 32 | UInt64(dscp) &<< 40
          | _caseByte(family) &<< 48 | _caseByte(direction) &<< 56 | _caseByte(policyType) &<< 60
          | (short ? 0 : CacheKeyWords.tailFlag)),
      tail: _addressTail(source, destination))
  }

  @inlinable @inline(__always)
  public init(cacheWords words: CacheKeyWords) {
    self = FlowKey(source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0))
    let head = words.head
    (source, destination) = _addressPair(words)
    mark = UInt32(truncatingIfNeeded: head.w1)
    interfaceID = UInt32(truncatingIfNeeded: head.w1 &>> 32)
    ifindex = UInt32(truncatingIfNeeded: head.w2)
    namespace = UInt32(truncatingIfNeeded: head.w2 &>> 32)
    sourcePort = UInt16(truncatingIfNeeded: head.w3)
    destinationPort = UInt16(truncatingIfNeeded: head.w3 &>> 16)
    proto = UInt8(truncatingIfNeeded: head.w3 &>> 32)
    dscp = UInt8(truncatingIfNeeded: head.w3 &>> 40)
    family = _case(head.w3 &>> 48, as: AddressFamily.self, cases: _addressFamilyCases)
    direction = _case(head.w3 &>> 56 & 0xf, as: PolicyDirection.self, cases: _policyDirectionCases)
    policyType = _case(head.w3 &>> 60 & 0x7, as: PolicyType.self, cases: _policyTypeCases)
  }
}

extension SALookupKey: CacheKey {
  /// Head: both addresses' top 32 bits, SPI and mark, namespace/protocol/family, the tail
  /// flag. Tail: the full addresses, when one does not fit in 32 bits.
  @inlinable @inline(__always)
  public var cacheWords: CacheKeyWords {
    let short = _bothFit32Bits(destination, source)
    return CacheKeyWords(
      head: CacheKeyHalf(
        _high32Pair(destination, source), UInt64(spi) | UInt64(mark) &<< 32,
        UInt64(namespace) | _caseByte(proto) &<< 32 | _caseByte(family) &<< 40,
        short ? 0 : CacheKeyWords.tailFlag),
      tail: _addressTail(destination, source))
  }

  @inlinable
  public init(cacheWords words: CacheKeyWords) {
    self = SALookupKey(destination: IPAddress(ipv4: 0), spi: 0)
    let head = words.head
    (destination, source) = _addressPair(words)
    spi = UInt32(truncatingIfNeeded: head.w1)
    mark = UInt32(truncatingIfNeeded: head.w1 &>> 32)
    namespace = UInt32(truncatingIfNeeded: head.w2)
    proto = _case(head.w2 &>> 32, as: IPsecProtocol.self, cases: _ipsecProtocolCases)
    family = _case(head.w2 &>> 40, as: AddressFamily.self, cases: _addressFamilyCases)
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

  /// The bits a cached key (as its words) with answer `cached` sets in its block's summary: a
  /// 64-bit Bloom filter per block of cache ways that lets a targeted invalidation skip the
  /// blocks no entry of which the change could affect (see `FlowCache`). Must agree with the
  /// two queries below: whenever `change(of: e, mayAffect: k, cachedAnswer: a)` holds,
  /// `summaryQuery(ofChange: e).admits(summaryBits(of: k.cacheWords, answer: a))`, and
  /// whenever `removal(of: e, mayAffect: a)` holds, `summaryQuery(ofRemoval: e).admits(
  /// summaryBits(of: w, answer: a))` for all key words `w` — and then, since a query only
  /// asks for bits, it admits any summary that contains those bits. Default: every bit.
  static func summaryBits(of words: CacheKeyWords, answer cached: Result) -> UInt64

  /// Which summaries may hold an entry `change(of: entry, ...)` affects. Default: all.
  static func summaryQuery(ofChange entry: Entry) -> CacheSummaryQuery

  /// Which summaries may hold an entry `removal(of: entry, ...)` affects. Default: all.
  static func summaryQuery(ofRemoval entry: Entry) -> CacheSummaryQuery
}

extension TargetedInvalidation {
  @inlinable public static func summaryBits(of words: CacheKeyWords, answer cached: Result) -> UInt64 { ~0 }
  @inlinable public static func summaryQuery(ofChange entry: Entry) -> CacheSummaryQuery { .all }
  @inlinable public static func summaryQuery(ofRemoval entry: Entry) -> CacheSummaryQuery { .all }
}

/// A question to the flow cache's block summaries (`TargetedInvalidation.summaryBits`): a
/// summary is admitted when it has a bit of `any`, or a bit of `both.0` and a bit of
/// `both.1`. The summary's layout is the structure's own; `CacheSummary` has the one the
/// library's structures use.
public struct CacheSummaryQuery: Sendable {
  public var any: UInt64
  public var both: (UInt64, UInt64)

  @inlinable
  public init(any: UInt64, both: (UInt64, UInt64) = (0, 0)) {
    self.any = any
    self.both = both
  }

  /// Admits every summary with a bit set (every block holding an entry).
  public static let all = CacheSummaryQuery(any: ~0)

  @inlinable @inline(__always)
  public func admits(_ summary: UInt64) -> Bool {
    summary & any != 0 || (summary & both.0 != 0 && summary & both.1 != 0)
  }
}

/// The summary layout of the library's structures: the low 32 bits hold one bit per cached
/// answer (a hash of its identifier); the high 32 bits two fields of 16 — for a policy cache
/// the flow's source and destination /16, for an SA cache the SPI (in both) — one bit each
/// per cached key.
public enum CacheSummary {
  /// Every bit of the low key field.
  public static let anyLow: UInt64 = 0x0000_FFFF_0000_0000
  /// Every bit of the high key field.
  public static let anyHigh: UInt64 = 0xFFFF_0000_0000_0000

  /// The answer bit of an answer's identifier.
  @inlinable @inline(__always)
  public static func answerBit(_ identifier: UInt32) -> UInt64 {
    1 &<< ((UInt64(identifier) &* 0x9E37_79B9_7F4A_7C15) &>> 59)
  }

  /// The low key field's bit of a value.
  @inlinable @inline(__always)
  public static func lowBit(_ value: UInt32) -> UInt64 {
    1 &<< (32 &+ ((UInt64(value) &* 0xC2B2_AE3D_27D4_EB4F) &>> 60))
  }

  /// The high key field's bit of a value.
  @inlinable @inline(__always)
  public static func highBit(_ value: UInt32) -> UInt64 {
    1 &<< (48 &+ ((UInt64(value) &* 0x1656_67B1_9E37_79F9) &>> 60))
  }
}

extension PolicyDatabase {
  /// A policy can change a flow's answer only if it matches the flow (it may now win) or it
  /// is the flow's current answer (its removal or replacement changes it). Index 0 is no
  /// policy — an insert that leaves the index to the table carries it — and is the index of
  /// every "no match" answer: it makes no answer this policy's.
  @inlinable
  public static func change(of policy: Policy, mayAffect key: FlowKey, cachedAnswer cached: PolicyLookupResult) -> Bool {
    (policy.index != 0 && cached.index == policy.index) || policy.matches(key)
  }

  /// The removed policy was the answer, or the answer does not change.
  @inlinable
  public static func removal(of policy: Policy, mayAffect cached: PolicyLookupResult) -> Bool {
    policy.index != 0 && cached.index == policy.index
  }

  /// The answer's policy index; the flow's source /16 (low key field) and destination /16
  /// (high key field). The head's first word holds the top 32 bits of the source in its low
  /// half and of the destination in its high half, for every family.
  @inlinable @inline(__always)
  public static func summaryBits(of words: CacheKeyWords, answer cached: PolicyLookupResult) -> UInt64 {
    CacheSummary.answerBit(cached.index) | CacheSummary.lowBit(UInt32(truncatingIfNeeded: words.head.w0 &>> 16) & 0xFFFF)
      | CacheSummary.highBit(UInt32(truncatingIfNeeded: words.head.w0 &>> 48))
  }

  /// The entries whose answer the policy was, and those of flows in both its prefixes: the
  /// source /16 and destination /16 the prefixes fix when at least that long, any otherwise.
  @inlinable
  public static func summaryQuery(ofChange policy: Policy) -> CacheSummaryQuery {
    let source = policy.selector.source, destination = policy.selector.destination
    return CacheSummaryQuery(
      any: policy.index != 0 ? CacheSummary.answerBit(policy.index) : 0,
      both: (source.length >= 16 ? CacheSummary.lowBit(UInt32(truncatingIfNeeded: source.network &>> 112)) : CacheSummary.anyLow,
             destination.length >= 16
               ? CacheSummary.highBit(UInt32(truncatingIfNeeded: destination.network &>> 112)) : CacheSummary.anyHigh))
  }

  @inlinable
  public static func summaryQuery(ofRemoval policy: Policy) -> CacheSummaryQuery {
    CacheSummaryQuery(any: policy.index != 0 ? CacheSummary.answerBit(policy.index) : 0)
  }
}

extension SecurityAssociationDatabase {
  /// An SA can change an inbound answer only if it shares the key's namespace and SPI (every
  /// inbound form includes the SPI) or it is the current answer. Id 0 is no SA (an insert
  /// that leaves the id to the table carries it) and every "none" answer's: no answer is its.
  @inlinable
  public static func change(of sa: SecurityAssociation, mayAffect key: SALookupKey,
                            cachedAnswer cached: SALookupResult) -> Bool {
    (sa.id != 0 && cached.id == sa.id) || (sa.spi == key.spi && sa.namespace == key.namespace)
  }

  /// The removed SA was the answer, or the answer does not change (kernel and RFC 4301
  /// forms alike: a lookup's answer is one matching SA; dropping another leaves it best).
  @inlinable
  public static func removal(of sa: SecurityAssociation, mayAffect cached: SALookupResult) -> Bool {
    sa.id != 0 && cached.id == sa.id
  }

  /// The answer's SA id, and the key's SPI (the low half of the head's second word) in both
  /// key fields.
  @inlinable
  public static func summaryBits(of words: CacheKeyWords, answer cached: SALookupResult) -> UInt64 {
    let spi = UInt32(truncatingIfNeeded: words.head.w1)
    return CacheSummary.answerBit(cached.id) | CacheSummary.lowBit(spi) | CacheSummary.highBit(spi)
  }

  @inlinable
  public static func summaryQuery(ofChange sa: SecurityAssociation) -> CacheSummaryQuery {
    CacheSummaryQuery(any: sa.id != 0 ? CacheSummary.answerBit(sa.id) : 0,
                      both: (CacheSummary.lowBit(sa.spi), CacheSummary.highBit(sa.spi)))
  }

  @inlinable
  public static func summaryQuery(ofRemoval sa: SecurityAssociation) -> CacheSummaryQuery {
    CacheSummaryQuery(any: sa.id != 0 ? CacheSummary.answerBit(sa.id) : 0)
  }
}
