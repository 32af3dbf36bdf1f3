/// A security policy: an SPD entry (`struct xfrm_policy`, the parts that decide lookups).
///
/// The identity of a policy for the duplicate check is `PolicyIdentity`: selector (raw,
/// host bits included), direction, type, mark and interface id — *not* its priority.
/// `index` is the kernel's policy id: 0 asks the table to generate one (kernel style: the
/// low three bits hold the direction); an explicit index must carry its direction in those
/// bits. Replacing a policy keeps its index.
public struct Policy: Hashable, Sendable {
  /// The maximum number of templates (`XFRM_MAX_DEPTH`).
  public static let maximumTemplates = 6

  public var selector: PolicySelector
  /// Lower values win.
  public var priority: UInt32
  /// The policy id; 0 = let the table generate one.
  public var index: UInt32
  public var direction: PolicyDirection
  public var type: PolicyType
  public var action: PolicyAction
  public var templates: [PolicyTemplate]
  public var mark: MarkSelector
  /// The xfrm interface id (`if_id`); 0 = not bound to an xfrm interface.
  public var interfaceID: UInt32
  /// RFC 4301 populate-from-packet flags (a Lookup extension; see `PFPTable`). Not part of
  /// the policy's identity and ignored by SPD lookups.
  public var populateFromPacket: PFPFlags

  public init(
    selector: PolicySelector,
    priority: UInt32 = 0,
    index: UInt32 = 0,
    direction: PolicyDirection,
    type: PolicyType = .main,
    action: PolicyAction = .allow,
    templates: [PolicyTemplate] = [],
    mark: MarkSelector = .any,
    interfaceID: UInt32 = 0,
    populateFromPacket: PFPFlags = []
  ) {
    self.selector = selector
    self.priority = priority
    self.index = index
    self.direction = direction
    self.type = type
    self.action = action
    self.templates = templates
    self.mark = mark
    self.interfaceID = interfaceID
    self.populateFromPacket = populateFromPacket
  }

  /// What makes two policies "the same" for add (exists error) and update (replace).
  @inlinable
  public var identity: PolicyIdentity {
    PolicyIdentity(selector: selector, direction: direction, type: type, mark: mark, interfaceID: interfaceID)
  }

  /// Whether the policy matches a flow: SEMANTICS.md rules 1–9 plus direction.
  @inlinable
  public func matches(_ flow: FlowKey) -> Bool {
    flow.direction == direction && flow.policyType == type
      && flow.interfaceID == interfaceID && mark.matches(flow.mark)
      && selector.matches(flow)
  }
}

/// The key of the duplicate check: selector, direction, type, mark and interface id.
public struct PolicyIdentity: Hashable, Sendable {
  public var selector: PolicySelector
  public var direction: PolicyDirection
  public var type: PolicyType
  public var mark: MarkSelector
  public var interfaceID: UInt32

  public init(selector: PolicySelector, direction: PolicyDirection, type: PolicyType = .main,
              mark: MarkSelector = .any, interfaceID: UInt32 = 0) {
    self.selector = selector
    self.direction = direction
    self.type = type
    self.mark = mark
    self.interfaceID = interfaceID
  }
}
