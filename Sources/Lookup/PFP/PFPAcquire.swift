/// The SA key a packet derives from a PFP policy: the policy's index plus every field the
/// policy's flags take from the packet (the others are zero: they come from the policy, which
/// the index names). `isWildcard` marks the key of the policy's wildcard SA (no field taken
/// from the packet), used once the policy's cap is reached.
public struct PFPKey: Hashable, Sendable, SeededHashable {
  public var source: UInt128
  public var destination: UInt128
  public var policyIndex: UInt32
  public var sourcePort: UInt16
  public var destinationPort: UInt16
  public var proto: UInt8
  public var dscp: UInt8
  public var isWildcard: Bool
  /// The packet's per-VM namespace: VMs sharing a PFP policy get SAs of their own — below
  /// the cap. The cap, the wildcard SA and the `spread` overflow are per policy, shared by
  /// every namespace (a known limitation: one VM can fill a shared policy's cap, and past
  /// it flows of different VMs share SAs; give each VM its own PFP policy to avoid it).
  public var namespace: UInt32

  /// The wildcard key of a policy.
  @inlinable
  public static func wildcard(policyIndex: UInt32) -> PFPKey {
    PFPKey(source: 0, destination: 0, policyIndex: policyIndex, sourcePort: 0, destinationPort: 0, proto: 0, dscp: 0,
           isWildcard: true, namespace: 0)
  }

  @inlinable
  public init(source: UInt128, destination: UInt128, policyIndex: UInt32, sourcePort: UInt16, destinationPort: UInt16,
              proto: UInt8, dscp: UInt8, isWildcard: Bool, namespace: UInt32 = 0) {
    self.source = source
    self.destination = destination
    self.policyIndex = policyIndex
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.proto = proto
    self.dscp = dscp
    self.isWildcard = isWildcard
    self.namespace = namespace
  }

  /// The key `flow` derives from a policy with `flags` in `direction`.
  @inlinable
  public init(flow: FlowKey, policyIndex: UInt32, flags: PFPFlags, direction: PolicyDirection) {
    let outbound = direction == .out
    let takeSource = flags.contains(outbound ? .localAddress : .remoteAddress)
    let takeDestination = flags.contains(outbound ? .remoteAddress : .localAddress)
    let takeSourcePort = flags.contains(outbound ? .localPort : .remotePort)
    let takeDestinationPort = flags.contains(outbound ? .remotePort : .localPort)
    self.init(source: takeSource ? flow.source : 0, destination: takeDestination ? flow.destination : 0,
              policyIndex: policyIndex, sourcePort: takeSourcePort ? flow.sourcePort : 0,
              destinationPort: takeDestinationPort ? flow.destinationPort : 0,
              proto: flags.contains(.proto) ? flow.proto : 0, dscp: flags.contains(.dscp) ? flow.dscp : 0,
              isWildcard: false, namespace: flow.namespace)
  }

  /// Each word is its own step of the seeded chain (folding two words into one before mixing
  /// would let keys collide under every seed).
  @inlinable
  public func seededHash(_ seed: UInt64) -> UInt64 {
    let ports = UInt64(policyIndex) << 32 | UInt64(sourcePort) << 16 | UInt64(destinationPort)
    let small = UInt64(namespace) << 32 | UInt64(proto) << 16 | UInt64(dscp) << 8 | (isWildcard ? 1 : 0)
    return SeededHash.mix(SeededHash.mix(SeededHash.mix(SeededHash.mix(seed, small), ports), source), destination)
  }
}

extension UInt32: SeededHashable {
  @inlinable public func seededHash(_ seed: UInt64) -> UInt64 { SeededHash.mix(seed, UInt64(self)) }
}

/// An ACQUIRE: a request to the key manager (IKE daemon) to negotiate an SA for a PFP policy.
public struct PFPAcquire: Hashable, Sendable {
  /// Increasing per table (the kernel's `km.seq`); `PFPTable.bind` takes it back.
  public var sequence: UInt64
  /// The policy that asked.
  public var policyIndex: UInt32
  /// The SA selector to negotiate: flagged fields from the packet, the rest from the policy
  /// (for a wildcard request: the policy's selector).
  public var selector: PolicySelector
  /// True when the policy reached its cap and this asks for its wildcard SA instead.
  public var isWildcard: Bool
  /// The key the SA will be bound to.
  public var key: PFPKey
  /// The logical time it was sent.
  public var time: UInt64
  /// Which insertion of the policy asked (`bind` refuses ACQUIREs of a removed or replaced policy).
  public var policyInstance: UInt64

  public init(sequence: UInt64, policyIndex: UInt32, selector: PolicySelector, isWildcard: Bool, key: PFPKey, time: UInt64,
              policyInstance: UInt64) {
    self.sequence = sequence
    self.policyIndex = policyIndex
    self.selector = selector
    self.isWildcard = isWildcard
    self.key = key
    self.time = time
    self.policyInstance = policyInstance
  }
}

/// What flows without an SA of their own get once their policy reached its cap.
public enum PFPOverflow: String, Hashable, Sendable, CaseIterable {
  /// The policy's wildcard SA (ACQUIREd once): the proposal for Linux — every overflow flow
  /// shares one SA.
  case wildcard
  /// One of the policy's bound SAs, chosen by a seeded hash of the flow's derived key (Lookup's
  /// extension): overflow flows spread over the capped SAs, and a flow keeps its SA while the
  /// set of bound SAs does not change. No wildcard SA is needed.
  case spread
}

/// Limits of a `PFPTable`; each refusal is counted in `PFPCounters`.
public struct PFPConfiguration: Hashable, Sendable {
  /// Packet-derived SAs per policy (bound plus pending); past it, see `overflow`. nil = unlimited.
  public var capPerPolicy: Int?
  /// Where flows go once the cap is reached.
  public var overflow: PFPOverflow
  /// ACQUIREs waiting to be drained; a full queue drops new ones.
  public var queueCapacity: Int
  /// Pending (larval) keys; expired ones are purged when the table is full, then new ACQUIREs are refused.
  public var maximumLarval: Int
  /// How long (logical time) an ACQUIRE suppresses repeats for its key (the kernel's `xfrm_acq_expires`, 30 s).
  public var larvalLifetime: UInt64

  public init(capPerPolicy: Int? = 64, overflow: PFPOverflow = .wildcard, queueCapacity: Int = 1024,
              maximumLarval: Int = 4096, larvalLifetime: UInt64 = 30) {
    self.capPerPolicy = capPerPolicy
    self.overflow = overflow
    self.queueCapacity = max(1, queueCapacity)
    self.maximumLarval = max(1, maximumLarval)
    self.larvalLifetime = larvalLifetime
  }
}

/// What a `PFPTable` has done, for reports and for proving the caps hold.
public struct PFPCounters: Hashable, Sendable {
  /// `resolve` calls that hit a PFP policy.
  public var resolves = 0
  /// ... that found the flow's own SA.
  public var instantiatedHits = 0
  /// ... that used the policy's wildcard SA because the cap was reached.
  public var wildcardHits = 0
  /// ... that were spread onto one of the policy's bound SAs because the cap was reached.
  public var spreadHits = 0
  /// ACQUIREs queued.
  public var acquiresSent = 0
  /// Misses not sent because an ACQUIRE for the key is pending.
  public var acquiresSuppressed = 0
  /// ACQUIREs that asked for the wildcard SA because the policy reached its cap.
  public var acquiresCapped = 0
  /// ACQUIREs dropped because the queue was full.
  public var queueDrops = 0
  /// ACQUIREs refused because the larval table was full of unexpired keys.
  public var larvalDrops = 0
  /// Larval keys found expired (when their key came back, or when a full larval table was purged).
  public var larvalExpired = 0
  /// `bind` calls refused (cap reached, unknown policy, id in use).
  public var bindsRefused = 0
  public init() {}
}

/// What a PFP lookup found.
public enum PFPOutcome: UInt8, Hashable, Sendable {
  /// No policy matched, it blocks, or it has no PFP flags: PFP plays no part.
  case notPFP
  /// The SA bound to the flow's derived key.
  case instantiated
  /// The policy's wildcard SA (the cap is reached and the flow has no SA of its own).
  case wildcard
  /// One of the policy's bound SAs, by hash (the cap is reached; `PFPOverflow.spread`).
  case spread
  /// No SA: an ACQUIRE is needed (`lookup`), or …
  case missing
  /// … `resolve` queued one,
  case acquireSent
  /// … one is pending for the key,
  case acquirePending
  /// … or it was dropped (queue or larval table full; see the counters).
  case acquireDropped
}

/// The answer of a `PFPTable` lookup: the policy decision, the SA to use (0 = none) and how
/// it was found.
public struct PFPLookupResult: Hashable, Sendable {
  public var policy: PolicyLookupResult
  public var sa: UInt32
  public var outcome: PFPOutcome

  @inlinable
  public init(policy: PolicyLookupResult, sa: UInt32, outcome: PFPOutcome) {
    self.policy = policy
    self.sa = sa
    self.outcome = outcome
  }
}

/// A policy's bound SA by its ordinal (0 ..< bound), for `PFPOverflow.spread`.
@usableFromInline
internal struct _SpreadSlot: Hashable, Sendable, SeededHashable {
  @usableFromInline var policyIndex: UInt32
  @usableFromInline var ordinal: UInt32

  @inlinable init(policyIndex: UInt32, ordinal: UInt32) {
    self.policyIndex = policyIndex
    self.ordinal = ordinal
  }

  @inlinable
  func seededHash(_ seed: UInt64) -> UInt64 { SeededHash.mix(seed, UInt64(policyIndex) << 32 | UInt64(ordinal)) }
}
