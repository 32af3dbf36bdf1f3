/// What `ip xfrm policy list`, `ip xfrm state list` and `ip xfrm policy getdefault` show: the
/// policies and SAs of one network namespace, and (when the text had them) its default actions.
///
/// The kernel dumps both lists **newest first**; `policies` and `securityAssociations` keep
/// that order. Re-inserting `policiesOldestFirst` into an empty SPD reproduces the ages, so the
/// same policy wins every tie.
public struct IPXfrmDump: Hashable, Sendable {
  /// The policies in dump order (newest first).
  public var policies: [Policy]
  /// The SAs in dump order (newest first). Their `id` is 0: an SAD assigns one on insert.
  public var securityAssociations: [SecurityAssociation]
  /// The `Default policies:` block, or nil when the text had none.
  public var defaultActions: DefaultActions?

  /// Creates a dump; the arrays are in dump order (newest first).
  public init(policies: [Policy] = [], securityAssociations: [SecurityAssociation] = [],
              defaultActions: DefaultActions? = nil) {
    self.policies = policies
    self.securityAssociations = securityAssociations
    self.defaultActions = defaultActions
  }

  /// Creates a dump from lists in insertion order (oldest first), as an SPD's `policies` gives them.
  public init(policiesOldestFirst: [Policy], securityAssociationsOldestFirst: [SecurityAssociation] = [],
              defaultActions: DefaultActions? = nil) {
    self.init(policies: policiesOldestFirst.reversed(),
              securityAssociations: securityAssociationsOldestFirst.reversed(),
              defaultActions: defaultActions)
  }

  /// The policies oldest first: the insertion order that reproduces the dumped SPD.
  public var policiesOldestFirst: [Policy] { policies.reversed() }

  /// The SAs oldest first: the insertion order that reproduces the dumped SAD.
  public var securityAssociationsOldestFirst: [SecurityAssociation] { securityAssociations.reversed() }
}
