/// The traffic selector of a policy, or an SA's own selector (`struct xfrm_selector`).
///
/// A flow matches when its family is the selector's, its addresses lie in the prefixes,
/// its ports match the port selectors, its protocol the protocol selector, and (when set)
/// its ifindex and DSCP equal the selector's. Mark, interface id, type and direction are
/// properties of the *policy*, not the selector, as in the kernel.
public struct PolicySelector: Hashable, Sendable {
  public let family: AddressFamily
  public let source: AddressPrefix
  public let destination: AddressPrefix
  public let sourcePort: PortSelector
  public let destinationPort: PortSelector
  public let proto: ProtocolSelector
  /// The interface index the flow must have, 0 for any (`sel.ifindex`).
  public let ifindex: UInt32
  /// Lookup extension; `.any` unless a PFP or per-DSCP design asks for it.
  public let dscp: DSCPSelector

  /// Creates a selector.
  /// - Throws: `LookupError.familyMismatch` when the two prefixes are of different families.
  @inlinable
  public init(
    source: AddressPrefix,
    destination: AddressPrefix,
    sourcePort: PortSelector = .any,
    destinationPort: PortSelector = .any,
    proto: ProtocolSelector = .any,
    ifindex: UInt32 = 0,
    dscp: DSCPSelector = .any
  ) throws(LookupError) {
    guard source.family == destination.family else { throw .familyMismatch }
    self.init(family: source.family, source: source, destination: destination, sourcePort: sourcePort,
              destinationPort: destinationPort, proto: proto, ifindex: ifindex, dscp: dscp)
  }

  /// The selector that matches every flow of a family.
  @inlinable
  public static func any(_ family: AddressFamily) -> PolicySelector {
    PolicySelector(unchecked: .any(family), .any(family))
  }

  /// Memberwise, for values already validated (rebuilding a stored policy).
  @inlinable
  internal init(family: AddressFamily, source: AddressPrefix, destination: AddressPrefix, sourcePort: PortSelector,
                destinationPort: PortSelector, proto: ProtocolSelector, ifindex: UInt32, dscp: DSCPSelector) {
    self.family = family
    self.source = source
    self.destination = destination
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.proto = proto
    self.ifindex = ifindex
    self.dscp = dscp
  }

  @inlinable
  internal init(unchecked source: AddressPrefix, _ destination: AddressPrefix) {
    self.family = source.family
    self.source = source
    self.destination = destination
    self.sourcePort = .any
    self.destinationPort = .any
    self.proto = .any
    self.ifindex = 0
    self.dscp = .any
  }

  /// Whether the selector matches a flow (family, prefixes, ports, protocol, ifindex, DSCP).
  @inlinable
  public func matches(_ flow: FlowKey) -> Bool {
    flow.family == family
      && source.contains(flow.source) && destination.contains(flow.destination)
      && sourcePort.matches(flow.sourcePort) && destinationPort.matches(flow.destinationPort)
      && proto.matches(flow.proto)
      && (ifindex == 0 || ifindex == flow.ifindex)
      && dscp.matches(flow.dscp)
  }
}
