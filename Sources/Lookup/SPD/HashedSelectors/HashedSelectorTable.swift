// HashedSelectorTable — the kernel's SPD scheme: an exact hash of (destination, source)
// beside an inexact structure, with the `hthresh` thresholds deciding which is which.
//
// Idea
//   Linux keeps, per direction, a hash table `policy_bydst` of the policies whose prefixes
//   are both at least the hash thresholds (`hthresh4`/`hthresh6`, default 32/32 and 128/128,
//   i.e. host-to-host policies), keyed by the addresses masked to the thresholds; every other
//   policy goes to the "inexact" bins, a tree of destination prefixes each holding a tree of
//   source prefixes (`net/xfrm/xfrm_policy.c`, see `reference/linux-xfrm.md` §1.5). A lookup
//   takes the first match of the flow's hash chain and then still searches the inexact
//   candidates, keeping the better of the two (lower priority, then older): the hash hit does
//   not end the search. This structure does exactly that, with `TupleSpaceIndex` in its
//   thresholds mode as the exact table (one hash table per family/direction/type, keyed on
//   the thresholds' bits, chains in rank order) and `RadixIndex` — the same index as
//   `RadixPolicyTree` — as the inexact part. Thresholds are per family and map local/remote
//   onto source/destination by direction as the kernel does (`HashThresholds`); changing
//   them re-files every policy (the kernel's `xfrm_hash_rebuild`).
//
// Complexity (n policies, e of them exact)
//   lookup: one hash probe + its chain, then the radix search of the inexact policies;
//   insert/remove O(1) expected for exact policies, the radix tree's cost for the others;
//   changing the thresholds O(n).
//
// Memory
//   The registry (≈ 120 B/policy) + 4 B per exact policy and ≈ 32 B per distinct exact key
//   (tables at most 25 % full) + the radix tree's nodes for the inexact policies.
//
// Good at / bad at
//   Host-to-host policy sets (per-tunnel transport policies, the mesh VPN case) cost one
//   probe; the thresholds let an operator move subnet policies into the hash (`hthresh4 24
//   24` for /24 site-to-site sets) as strongSwan recommends. Everything coarser than the
//   thresholds costs what the radix tree costs.
//
// Thread safety
//   A value type; lookups do not mutate. Concurrent lookups on an unchanging table are safe.

import CLookupSupport

/// The kernel's exact-hash + inexact-tree SPD with `hthresh` thresholds. See the file comment.
public struct HashedSelectorTable: SlotIndexedPolicyDatabase, Sendable {
  public var _registry = PolicyRegistry()
  public var _index = HashedSelectorIndex(thresholds: .kernelDefault)

  public init() {}

  /// An empty table with the given thresholds.
  public init(thresholds: HashThresholds) {
    _index = HashedSelectorIndex(thresholds: thresholds)
  }

  /// An empty table whose exact part's batch lookups walk its tuples once per group of keys
  /// from `slots` policies on (see `TupleSpaceIndex.groupSearchThreshold`; 0: always).
  public init(thresholds: HashThresholds, groupSearchFrom slots: Int) {
    _index = HashedSelectorIndex(thresholds: thresholds, groupSearchThreshold: slots)
  }

  /// The hash thresholds in force.
  public var thresholds: HashThresholds { _index.thresholds }

  /// Changes the thresholds and re-files every policy (answers never change).
  public mutating func setThresholds(_ thresholds: HashThresholds) {
    _index = HashedSelectorIndex(thresholds: thresholds, groupSearchThreshold: _index._exact.groupSearchThreshold)
    _rebuildIndex()
  }
}

/// The index of `HashedSelectorTable`: an exact table and an inexact radix tree.
public struct HashedSelectorIndex: PolicySlotIndex {
  public let thresholds: HashThresholds
  @usableFromInline internal var _exact: TupleSpaceIndex
  @usableFromInline internal var _inexact: RadixIndex

  public init() { self.init(thresholds: .kernelDefault) }

  public init(thresholds: HashThresholds, groupSearchThreshold: Int = 32_768) {
    self.thresholds = thresholds
    _exact = TupleSpaceIndex(classing: .thresholds(thresholds), groupSearchThreshold: groupSearchThreshold)
    _inexact = RadixIndex()
  }

  public func emptyCopy() -> HashedSelectorIndex {
    HashedSelectorIndex(thresholds: thresholds, groupSearchThreshold: _exact.groupSearchThreshold)
  }

  public mutating func link(_ slot: UInt32, rules: LineAlignedArray<PolicyRule>) {
    if thresholds.isExact(rules[Int(slot)]) {
      _exact.link(slot, rules: rules)
    } else {
      _inexact.link(slot, rules: rules)
    }
  }

  public mutating func unlink(_ slot: UInt32, rule: PolicyRule, rules: LineAlignedArray<PolicyRule>) {
    if thresholds.isExact(rule) {
      _exact.unlink(slot, rule: rule, rules: rules)
    } else {
      _inexact.unlink(slot, rule: rule, rules: rules)
    }
  }

  /// The inexact tree's removal hint (the exact table's removal starts with a hash: nothing
  /// to prefetch before the registry's work). Cheap enough to give for every slot: a slot
  /// of the exact table has no radix holder, and the tree ignores it.
  public mutating func prepareToUnlink(_ slot: UInt32) {
    _inexact.prepareToUnlink(slot)
  }

  /// The exact chain first, then the inexact candidates: the better of both wins.
  @inlinable
  public func search(_ key: FlowKey, context: UInt8, rules: PolicyRules, best: inout PolicyMatchCandidate) {
    _exact.search(key, context: context, rules: rules, best: &best)
    _inexact.search(key, context: context, rules: rules, best: &best)
  }

  @inlinable
  public func search(_ keys: UnsafeBufferPointer<FlowKey>, contexts: UnsafeBufferPointer<UInt8>, rules: PolicyRules,
                     best: UnsafeMutableBufferPointer<PolicyMatchCandidate>) {
    _exact.search(keys, contexts: contexts, rules: rules, best: best)
    _inexact.search(keys, contexts: contexts, rules: rules, best: best)
  }

  /// The burst pays when the exact table's grouped search does (large tables); below that,
  /// a burst would walk its keys twice (exact table, then tree) where single lookups walk
  /// them once (acl1_10k: 105-108 ns per single lookup, 118-121 per key in bursts).
  @inlinable public var prefersBatchSearch: Bool { _exact.prefersBatchSearch }

  public var memoryFootprint: Int { _exact.memoryFootprint + _inexact.memoryFootprint }

  public var statistics: [LookupStatistics.Counter] {
    _exact.statistics.map { LookupStatistics.Counter("exact " + $0.name, $0.value) }
      + _inexact.statistics.map { LookupStatistics.Counter("inexact " + $0.name, $0.value) }
  }

  public func checkInvariants(rules: LineAlignedArray<PolicyRule>, liveSlots: [UInt32]) {
    let exact = liveSlots.filter { thresholds.isExact(rules[Int($0)]) }
    let inexact = liveSlots.filter { !thresholds.isExact(rules[Int($0)]) }
    _exact.checkInvariants(rules: rules, liveSlots: exact)
    _inexact.checkInvariants(rules: rules, liveSlots: inexact)
  }
}
