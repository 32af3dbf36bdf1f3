/// The direction a policy applies to. Raw values are the kernel's (`XFRM_POLICY_IN` = 0,
/// `OUT` = 1, `FWD` = 2); they also form the low bits of kernel-style policy indexes.
///
/// Selectors are written in packet direction: for `out` the selector's source is local and
/// its destination remote; for `in` and `fwd` the source is remote.
public enum PolicyDirection: UInt8, Hashable, Sendable, CaseIterable {
  case `in` = 0
  case out = 1
  case fwd = 2
}

/// The policy type. Lookups are done per type (SEMANTICS.md, rule 4).
public enum PolicyType: UInt8, Hashable, Sendable, CaseIterable {
  case main = 0
  case sub = 1
}

/// What a policy (or a direction's default) does with a matching flow.
public enum PolicyAction: UInt8, Hashable, Sendable, CaseIterable, BitwiseCopyable {
  case allow = 0
  case block = 1
}

/// The IPsec protocol of a template or SA.
public enum IPsecProtocol: UInt8, Hashable, Sendable, CaseIterable {
  case esp = 50
  case ah = 51
  case ipcomp = 108
}

/// The mode of a template or SA. Raw values are the kernel's `XFRM_MODE_*`.
public enum IPsecMode: UInt8, Hashable, Sendable, CaseIterable {
  case transport = 0
  case tunnel = 1
  case beet = 4

  /// Whether the SA's endpoints come from the template (tunnel, BEET) rather than the flow.
  @inlinable public var takesEndpointsFromTemplate: Bool { self != .transport }
}

/// The default action of each direction when no policy matches (the kernel's
/// `ip xfrm policy setdefault`, Linux 5.15). All three default to `allow`.
public struct DefaultActions: Hashable, Sendable {
  public var inbound: PolicyAction
  public var outbound: PolicyAction
  public var forward: PolicyAction

  public init(inbound: PolicyAction = .allow, outbound: PolicyAction = .allow, forward: PolicyAction = .allow) {
    self.inbound = inbound
    self.outbound = outbound
    self.forward = forward
  }

  @inlinable
  public subscript(direction: PolicyDirection) -> PolicyAction {
    get {
      switch direction {
      case .in: inbound
      case .out: outbound
      case .fwd: forward
      }
    }
    set {
      switch direction {
      case .in: inbound = newValue
      case .out: outbound = newValue
      case .fwd: forward = newValue
      }
    }
  }
}
