/// The SPD refinement of `LookupStructure`: keys are flows, entries are policies named by
/// their index, results are (index, action).
///
/// `insert` is the kernel's `add` (`XFRM_MSG_NEWPOLICY` with exclusive create): a policy
/// whose identity exists is an error. `update` is `XFRM_MSG_UPDPOLICY`: it replaces such a
/// policy, keeping its index and making it the youngest for equal-priority ties.
public protocol PolicyDatabase: TargetedInvalidation
where Key == FlowKey, Result == PolicyLookupResult, Entry == Policy, EntryID == UInt32 {
  /// Creates an empty database.
  init()

  /// Adds a policy, or replaces the one with the same identity (keeping its index).
  /// - Returns: the policy's index.
  @discardableResult
  mutating func update(_ policy: Policy) throws(LookupError) -> UInt32

  /// The action when no policy matches, per direction.
  var defaultActions: DefaultActions { get set }

  /// The policy with this index, if any.
  func policy(index: UInt32) -> Policy?

  /// Every policy, oldest first (the order that reproduces the ages when re-inserted).
  var policies: [Policy] { get }
}

extension PolicyDatabase {
  /// Removes the policy with this identity (the kernel's delete by selector).
  @discardableResult
  public mutating func remove(identity: PolicyIdentity) throws(LookupError) -> Policy {
    guard let index = policies.first(where: { $0.identity == identity })?.index else {
      throw .policyNotFound(index: 0)
    }
    return try remove(index)
  }

  /// Creates a database holding `policies`, inserted in order.
  public init<S: Sequence>(inserting policies: S, defaultActions: DefaultActions = DefaultActions())
  throws(LookupError) where S.Element == Policy {
    self.init()
    self.defaultActions = defaultActions
    for policy in policies { try insert(policy) }
  }
}

/// The SAD refinement of `LookupStructure`: inbound lookups by `SALookupKey` (kernel or
/// RFC 4301 precedence), and the outbound search from a policy template (`xfrm_state_find`).
public protocol SecurityAssociationDatabase: TargetedInvalidation
where Key == SALookupKey, Result == SALookupResult, Entry == SecurityAssociation, EntryID == UInt32 {
  /// Creates an empty database answering inbound lookups in `mode`.
  init(inboundMode: InboundLookupMode)

  /// How inbound lookups are keyed.
  var inboundMode: InboundLookupMode { get }

  /// The SA an outbound flow that hit `policy` uses for `template` (the kernel's
  /// `xfrm_state_find`), or `.none` (which would trigger an ACQUIRE).
  func findOutbound(template: PolicyTemplate, flow: FlowKey, policy: Policy) -> SALookupResult

  /// The SA with this id, if any.
  func securityAssociation(id: UInt32) -> SecurityAssociation?

  /// Every SA, oldest first.
  var securityAssociations: [SecurityAssociation] { get }
}

/// How an SAD answers inbound lookups.
public enum InboundLookupMode: String, Hashable, Sendable, CaseIterable {
  /// Linux: (destination, SPI, protocol, family) + mark; source and if_id ignored; newest wins.
  case kernel
  /// RFC 4301 §4.1 longest match: {SPI, dst, src} → {SPI, dst} → {SPI}, each SA registered
  /// under its `inboundMatch` form (as DPDK's `rte_ipsec_sad`); mark and protocol still apply.
  case rfc4301
}
