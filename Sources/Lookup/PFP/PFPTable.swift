// PFPTable — RFC 4301 populate-from-packet SAs with caps, ACQUIRE suppression and a bounded
// ACQUIRE queue, over any SPD structure.
//
// Idea
//   A PFP policy asks for one SA per packet-derived selector: with the four-tuple flags, one
//   SA per connection (entropy for RSS/ECMP over SAs); with Lookup's DSCP flag, one SA per
//   traffic class (no replay-window drops from QoS reordering, RFC 4301 §4.1). A lookup runs
//   the SPD (any `PolicyDatabase`), and when the winning policy has PFP flags, derives the
//   key (`PFPKey`: the flagged fields from the packet) and probes the binding table
//   (derived key → SA id, seeded open addressing). No SA → the caller needs an ACQUIRE.
//
//   `resolve(_:now:)` is the datapath's mutating step on a miss, as the kernel's
//   `xfrm_state_find` → `km_query`: if an ACQUIRE for the key is pending (a larval key
//   younger than `larvalLifetime` in the caller's logical time) nothing is sent again;
//   otherwise an ACQUIRE (policy, derived selector, sequence number) is queued for the key
//   manager. Bounds, all counted: a per-policy cap on SAs (default 64), counting bound SAs
//   and ACQUIREs still pending — past it the flow uses the policy's wildcard SA, or ACQUIREs
//   it once (`PFPOverflow.wildcard`, the Linux proposal), or is spread by a seeded hash over
//   the policy's bound SAs (`.spread`, Lookup's extension: the wildcard SA would carry every
//   overflow flow — one SA, one RSS queue, one ECMP path); a bounded queue (drops when full); a bounded larval table (expired keys purged
//   when full — only when one can have expired — then new ACQUIREs refused). The key manager
//   answers with `bind(_:to:)`, which checks the ACQUIRE came from this table for the policy
//   as it is now and refuses to go past the cap.
//
// Complexity
//   lookup: the SPD's lookup + two hash probes (policy state, binding); resolve on a miss
//   + one larval probe; bind/unbind O(1) expected; removing a policy O(bindings + larval).
//
// Memory
//   Bounded by the configuration: bindings ≤ Σ caps (+ one wildcard per policy), larval ≤
//   `maximumLarval`, queue ≤ `queueCapacity`, whatever the packets.
//
// Good at / bad at
//   Packet-rate lookups with no allocation and flood-proof state. The SA ids are the key
//   manager's: this table binds them, it does not own the SAD.
//
// Thread safety
//   A value type. `lookup` does not mutate; `resolve`, `bind` and the updates do.

/// PFP SAs over an SPD. See the file comment.
///
/// `applyAtomically` goes through the SPD's own all-or-nothing batch, so a PFP table over a
/// reference-type SPD (a `FlowCache`) stays atomic too.
public struct PFPTable<SPD: PolicyDatabase>: LookupStructure {
  public typealias Key = FlowKey
  public typealias Result = PFPLookupResult
  public typealias Entry = Policy
  public typealias EntryID = UInt32

  @usableFromInline
  internal struct _PolicyState: Sendable {
    @usableFromInline var flags: PFPFlags
    @usableFromInline var direction: PolicyDirection
    @usableFromInline var selector: PolicySelector
    /// Which insertion of the policy this is (ACQUIREs of an earlier one are refused by `bind`).
    @usableFromInline var instance: UInt64
    /// Packet-derived SAs bound.
    @usableFromInline var bound: Int
    /// Packet-derived ACQUIREs pending (larval keys), counted against the cap with `bound`.
    @usableFromInline var pending: Int
    @usableFromInline var wildcardSA: UInt32
  }

  /// The SPD beneath.
  public private(set) var spd: SPD
  /// The limits, fixed when the table is made (the queue is allocated to its capacity).
  public let configuration: PFPConfiguration
  public private(set) var counters = PFPCounters()
  @usableFromInline internal var _policies: SeededHashMap<UInt32, _PolicyState>
  @usableFromInline internal var _bindings: SeededHashMap<PFPKey, UInt32>
  internal var _keyOfSA: SeededHashMap<UInt32, PFPKey>
  /// `.spread`: each policy's bound SAs by ordinal, and each bound SA's ordinal.
  @usableFromInline internal var _spread: SeededHashMap<_SpreadSlot, UInt32>
  internal var _ordinalOfSA: SeededHashMap<UInt32, UInt32>
  @usableFromInline internal let _spreadSeed: UInt64
  internal var _larval: SeededHashMap<PFPKey, UInt64>
  /// No larval key expires before this time (so a full larval table is purged only when one can have).
  internal var _earliestLarvalExpiry: UInt64 = .max
  internal var _queue: [PFPAcquire?]
  internal var _queueHead = 0
  internal var _queueCount = 0
  internal var _nextSequence: UInt64 = 1
  internal var _nextInstance: UInt64 = 1

  public init(spd: SPD = SPD(), configuration: PFPConfiguration = PFPConfiguration(),
              seed: UInt64 = SeededHash.randomSeed()) {
    self.spd = spd
    var limits = configuration
    limits.queueCapacity = max(1, limits.queueCapacity)
    limits.maximumLarval = max(1, limits.maximumLarval)
    self.configuration = limits
    _policies = SeededHashMap(seed: SeededHash.mix(seed, UInt64(1)))
    _bindings = SeededHashMap(seed: SeededHash.mix(seed, UInt64(2)))
    _keyOfSA = SeededHashMap(seed: SeededHash.mix(seed, UInt64(3)))
    _larval = SeededHashMap(seed: SeededHash.mix(seed, UInt64(4)))
    _spread = SeededHashMap(seed: SeededHash.mix(seed, UInt64(5)))
    _ordinalOfSA = SeededHashMap(seed: SeededHash.mix(seed, UInt64(6)))
    _spreadSeed = SeededHash.mix(seed, UInt64(7))
    _queue = Array(repeating: nil, count: limits.queueCapacity)
    for policy in spd.policies where !policy.populateFromPacket.isEmpty { _track(policy) }
  }

  public init() { self.init(spd: SPD()) }

  public var count: Int { spd.count }

  // MARK: Lookup

  @inlinable
  public func lookup(_ flow: FlowKey) -> PFPLookupResult {
    let decision = spd.lookup(flow)
    guard decision.index != 0, decision.action == .allow, let state = _policies[decision.index] else {
      return PFPLookupResult(policy: decision, sa: 0, outcome: .notPFP)
    }
    let key = PFPKey(flow: flow, policyIndex: decision.index, flags: state.flags, direction: state.direction)
    if let sa = _bindings[key] { return PFPLookupResult(policy: decision, sa: sa, outcome: .instantiated) }
    if _atCap(state) {
      if configuration.overflow == .spread, state.bound > 0 {
        let ordinal = UInt32(truncatingIfNeeded: key.seededHash(_spreadSeed) % UInt64(state.bound))
        if let sa = _spread[_SpreadSlot(policyIndex: decision.index, ordinal: ordinal)] {
          return PFPLookupResult(policy: decision, sa: sa, outcome: .spread)
        }
      } else if state.wildcardSA != 0 {
        return PFPLookupResult(policy: decision, sa: state.wildcardSA, outcome: .wildcard)
      }
    }
    return PFPLookupResult(policy: decision, sa: 0, outcome: .missing)
  }

  /// Whether the policy's packet-derived SAs, bound and pending, have reached the cap.
  @inlinable
  internal func _atCap(_ state: _PolicyState) -> Bool {
    guard let cap = configuration.capPerPolicy else { return false }
    return state.bound + state.pending >= cap
  }

  /// `lookup`, and on a miss the ACQUIRE step (see the file comment). `now` is the caller's
  /// logical clock (for larval expiry); it must not go backwards.
  public mutating func resolve(_ flow: FlowKey, now: UInt64) -> PFPLookupResult {
    var result = lookup(flow)
    guard result.outcome != .notPFP else { return result }
    counters.resolves += 1
    switch result.outcome {
    case .instantiated: counters.instantiatedHits += 1; return result
    case .wildcard: counters.wildcardHits += 1; return result
    case .spread: counters.spreadHits += 1; return result
    default: break
    }
    let index = result.policy.index
    guard var state = _policies[index] else { return result }
    var key = PFPKey(flow: flow, policyIndex: index, flags: state.flags, direction: state.direction)
    if _isPending(key, now: now) {
      result.outcome = .acquirePending
      return result
    }
    state = _policies[index] ?? state  // an expired larval key of the flow's no longer counts
    var capped = _atCap(state)
    if capped && state.pending > 0 && now >= _earliestLarvalExpiry {
      // ACQUIREs that expired unanswered no longer count against the cap: drop them before
      // sending this flow to the overflow rule (one pass over the larval keys, at most once
      // per expiry time; otherwise they would count until their own flows came back).
      _purgeExpiredLarval(now: now)
      state = _policies[index] ?? state
      capped = _atCap(state)
    }
    if capped {
      key = .wildcard(policyIndex: index)
      if _isPending(key, now: now) {
        result.outcome = .acquirePending
        return result
      }
    }
    guard _queueCount < _queue.count else {
      counters.queueDrops += 1
      result.outcome = .acquireDropped
      return result
    }
    if _larval.count >= configuration.maximumLarval && now >= _earliestLarvalExpiry {
      _purgeExpiredLarval(now: now)
    }
    guard _larval.count < configuration.maximumLarval else {
      counters.larvalDrops += 1
      result.outcome = .acquireDropped
      return result
    }
    let acquire = PFPAcquire(sequence: _nextSequence, policyIndex: index,
                             selector: Self._derivedSelector(state.selector, key: key, flags: state.flags,
                                                             direction: state.direction),
                             isWildcard: capped, key: key, time: now, policyInstance: state.instance)
    _nextSequence += 1
    _queue[(_queueHead + _queueCount) % _queue.count] = acquire
    _queueCount += 1
    _addLarval(key, expiry: now &+ configuration.larvalLifetime)
    counters.acquiresSent += 1
    if capped { counters.acquiresCapped += 1 }
    result.outcome = .acquireSent
    return result
  }

  // MARK: Larval keys

  /// Whether an ACQUIRE for `key` is pending (counted as suppressed); an expired larval key is
  /// dropped on the way.
  private mutating func _isPending(_ key: PFPKey, now: UInt64) -> Bool {
    guard let expiry = _larval[key] else { return false }
    if expiry > now {
      counters.acquiresSuppressed += 1
      return true
    }
    _removeLarval(key)
    counters.larvalExpired += 1
    return false
  }

  private mutating func _addLarval(_ key: PFPKey, expiry: UInt64) {
    _larval.updateValue(expiry, forKey: key)
    _earliestLarvalExpiry = min(_earliestLarvalExpiry, expiry)
    if !key.isWildcard, var state = _policies[key.policyIndex] {
      state.pending += 1
      _policies.updateValue(state, forKey: key.policyIndex)
    }
  }

  private mutating func _removeLarval(_ key: PFPKey) {
    guard _larval.removeValue(forKey: key) != nil else { return }
    if !key.isWildcard, var state = _policies[key.policyIndex] {
      state.pending -= 1
      _policies.updateValue(state, forKey: key.policyIndex)
    }
  }

  /// Drops every expired larval key (in place, no allocation) and recomputes the earliest expiry.
  private mutating func _purgeExpiredLarval(now: UInt64) {
    var expiredPerPolicy: [UInt32: Int] = [:]
    var earliest = UInt64.max
    var expired = 0
    _larval.removeAll { key, expiry in
      if expiry <= now {
        expired += 1
        if !key.isWildcard { expiredPerPolicy[key.policyIndex, default: 0] += 1 }
        return true
      }
      earliest = min(earliest, expiry)
      return false
    }
    for (index, n) in expiredPerPolicy {
      if var state = _policies[index] {
        state.pending -= n
        _policies.updateValue(state, forKey: index)
      }
    }
    counters.larvalExpired += expired
    _earliestLarvalExpiry = earliest
  }

  /// The SA selector of a derived key: flagged fields exact from the packet, the rest the policy's.
  internal static func _derivedSelector(_ policy: PolicySelector, key: PFPKey, flags: PFPFlags,
                                        direction: PolicyDirection) -> PolicySelector {
    if key.isWildcard { return policy }
    let outbound = direction == .out
    let family = policy.family
    func host(_ bits: UInt128) -> AddressPrefix {
      AddressPrefix(uncheckedAddress: IPAddress(bits: bits, family: family), length: family.addressWidth)
    }
    return PolicySelector(
      family: family,
      source: flags.contains(outbound ? .localAddress : .remoteAddress) ? host(key.source) : policy.source,
      destination: flags.contains(outbound ? .remoteAddress : .localAddress) ? host(key.destination) : policy.destination,
      sourcePort: flags.contains(outbound ? .localPort : .remotePort) ? .exactly(key.sourcePort) : policy.sourcePort,
      destinationPort: flags.contains(outbound ? .remotePort : .localPort)
        ? .exactly(key.destinationPort) : policy.destinationPort,
      proto: flags.contains(.proto) ? .number(key.proto) : policy.proto,
      ifindex: policy.ifindex,
      dscp: flags.contains(.dscp) ? DSCPSelector(_raw: key.dscp) : policy.dscp)
  }

  // MARK: The key manager's side

  /// Takes the next ACQUIRE, oldest first.
  public mutating func nextAcquire() -> PFPAcquire? {
    guard _queueCount > 0 else { return nil }
    let acquire = _queue[_queueHead]
    _queue[_queueHead] = nil
    _queueHead = (_queueHead + 1) % _queue.count
    _queueCount -= 1
    return acquire
  }

  /// ACQUIREs waiting.
  public var pendingAcquires: Int { _queueCount }

  /// Binds SA `id` (added to the SAD by the key manager) to what `acquire` asked for: the
  /// flow's derived key, or the policy's wildcard SA. Clears the larval key.
  /// - Throws: `.policyNotFound` when the policy is gone, was replaced since the ACQUIRE, or the
  ///   ACQUIRE's fields disagree with each other; `.capacityExceeded` when the policy already
  ///   has `capPerPolicy` SAs; `.securityAssociationExists` when `id` is bound already or the
  ///   key has an SA.
  public mutating func bind(_ acquire: PFPAcquire, to id: UInt32) throws(LookupError) {
    let key = acquire.key
    guard var state = _policies[key.policyIndex], acquire.policyIndex == key.policyIndex,
          acquire.isWildcard == key.isWildcard, acquire.policyInstance == state.instance
    else {
      counters.bindsRefused += 1
      throw .policyNotFound(index: acquire.policyIndex)
    }
    if id == 0 || _keyOfSA[id] != nil {
      counters.bindsRefused += 1
      throw .securityAssociationExists(existingID: id)
    }
    if let existing = _bindings[key] {
      counters.bindsRefused += 1
      throw .securityAssociationExists(existingID: existing)
    }
    let wasPending = !key.isWildcard && _larval[key] != nil
    if key.isWildcard {
      guard state.wildcardSA == 0 else {
        counters.bindsRefused += 1
        throw .securityAssociationExists(existingID: state.wildcardSA)
      }
      state.wildcardSA = id
    } else {
      // Its own pending ACQUIRE is already counted in `pending`; it moves to `bound`.
      if let cap = configuration.capPerPolicy, state.bound + state.pending - (wasPending ? 1 : 0) >= cap {
        counters.bindsRefused += 1
        throw .capacityExceeded("policy \(key.policyIndex) already has its cap of \(cap) PFP SAs")
      }
      _spread.updateValue(id, forKey: _SpreadSlot(policyIndex: key.policyIndex, ordinal: UInt32(state.bound)))
      _ordinalOfSA.updateValue(UInt32(state.bound), forKey: id)
      state.bound += 1
    }
    _policies.updateValue(state, forKey: key.policyIndex)
    _bindings.updateValue(id, forKey: key)
    _keyOfSA.updateValue(key, forKey: id)
    _removeLarval(key)
  }

  /// Forgets SA `id` (deleted or expired in the SAD); its flows ACQUIRE again.
  /// - Returns: whether it was bound.
  @discardableResult
  public mutating func unbind(_ id: UInt32) -> Bool {
    guard let key = _keyOfSA.removeValue(forKey: id) else { return false }
    _bindings.removeValue(forKey: key)
    if var state = _policies[key.policyIndex] {
      if key.isWildcard {
        state.wildcardSA = 0
      } else {
        // Keep the ordinals dense: the last bound SA takes the freed ordinal.
        state.bound -= 1
        let last = _SpreadSlot(policyIndex: key.policyIndex, ordinal: UInt32(state.bound))
        if let ordinal = _ordinalOfSA.removeValue(forKey: id), let moved = _spread.removeValue(forKey: last),
           moved != id {
          _spread.updateValue(moved, forKey: _SpreadSlot(policyIndex: key.policyIndex, ordinal: ordinal))
          _ordinalOfSA.updateValue(ordinal, forKey: moved)
        }
      }
      _policies.updateValue(state, forKey: key.policyIndex)
    }
    return true
  }

  /// SAs bound to a policy (its wildcard SA not included).
  public func boundCount(policyIndex: UInt32) -> Int { _policies[policyIndex]?.bound ?? 0 }

  /// Every binding (derived key → SA id).
  public var bindings: [(key: PFPKey, sa: UInt32)] { _bindings.entries.map { ($0.key, $0.value) } }

  /// The home slot of a derived key in the binding table of a `PFPTable` built with `seed`,
  /// when that table has `capacity` slots: what an attacker who knew the seed would aim flows
  /// at (the robustness experiment uses it; a table's real seed is random and private).
  public static func bindingHome(of key: PFPKey, seed: UInt64, capacity: Int) -> Int {
    Int(truncatingIfNeeded: key.seededHash(SeededHash.mix(seed, UInt64(2)))) & (capacity - 1)
  }

  /// Slots of the binding table (it doubles to stay at most half full).
  public var bindingCapacity: Int { _bindings.capacity }

  /// Larval keys held (pending ACQUIREs, expired ones not yet purged).
  public var larvalCount: Int { _larval.count }

  // MARK: Policies

  @discardableResult
  public mutating func insert(_ policy: Policy) throws(LookupError) -> UInt32 {
    let index = try spd.insert(policy)
    var stored = policy
    stored.index = index
    if !policy.populateFromPacket.isEmpty { _track(stored) }
    return index
  }

  @discardableResult
  public mutating func remove(_ index: UInt32) throws(LookupError) -> Policy {
    let policy = try spd.remove(index)
    _forget(index)
    return policy
  }

  /// All or nothing through the SPD's own batch; the PFP state follows the applied changes.
  @discardableResult
  public mutating func applyAtomically(_ changes: [StructureChange<Policy, UInt32>])
  throws(BatchUpdateError) -> BatchUpdateResult<Policy, UInt32> {
    let result = try spd.applyAtomically(changes)
    var inserted = result.insertedIDs.makeIterator()
    for change in changes {
      switch change {
      case .insert(let policy):
        guard let index = inserted.next() else { continue }
        if !policy.populateFromPacket.isEmpty {
          var stored = policy
          stored.index = index
          _track(stored)
        }
      case .remove(let index):
        _forget(index)
      }
    }
    return result
  }

  private mutating func _track(_ policy: Policy) {
    _policies.updateValue(_PolicyState(flags: policy.populateFromPacket, direction: policy.direction,
                                       selector: policy.selector, instance: _nextInstance, bound: 0, pending: 0,
                                       wildcardSA: 0), forKey: policy.index)
    _nextInstance += 1
  }

  private mutating func _forget(_ index: UInt32) {
    guard _policies.removeValue(forKey: index) != nil else { return }
    for (key, sa) in _bindings.entries where key.policyIndex == index {
      _keyOfSA.removeValue(forKey: sa)
      _ordinalOfSA.removeValue(forKey: sa)
    }
    _spread.removeAll { slot, _ in slot.policyIndex == index }
    _bindings.removeAll { key, _ in key.policyIndex == index }
    _larval.removeAll { key, _ in key.policyIndex == index }
  }

  public var memoryFootprint: Int {
    spd.memoryFootprint + _policies.memoryFootprint + _bindings.memoryFootprint + _keyOfSA.memoryFootprint
      + _spread.memoryFootprint + _ordinalOfSA.memoryFootprint
      + _larval.memoryFootprint + _queue.capacity * MemoryLayout<PFPAcquire?>.stride
  }

  public var statistics: LookupStatistics {
    LookupStatistics([
      "policies": count, "PFP policies": _policies.count, "bound SAs": _bindings.count, "larval keys": _larval.count,
      "pending ACQUIREs": _queueCount, "ACQUIREs sent": counters.acquiresSent,
      "ACQUIREs suppressed": counters.acquiresSuppressed, "ACQUIREs capped": counters.acquiresCapped,
      "queue drops": counters.queueDrops, "larval drops": counters.larvalDrops,
    ])
  }
}
