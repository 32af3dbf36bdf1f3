/// One template of a policy (`struct xfrm_tmpl`): which SA a flow needs.
///
/// Tunnel and BEET templates name the SA's endpoints; transport templates leave them
/// unspecified (the SA's addresses are the flow's). `reqid` must equal the SA's exactly
/// on output (0 is not a wildcard there), while on input a template reqid or SPI of 0
/// accepts any SA.
public struct PolicyTemplate: Hashable, Sendable {
  /// The family of the SA (the template's `encap_family`).
  public var family: AddressFamily
  /// The SA's source; unspecified for transport mode (filled from the flow).
  public var source: IPAddress
  /// The SA's destination; unspecified for transport mode (filled from the flow).
  public var destination: IPAddress
  public var proto: IPsecProtocol
  /// The SPI the SA must have, 0 for any.
  public var spi: UInt32
  public var reqid: UInt32
  public var mode: IPsecMode
  /// `level use`: the template may be skipped on input.
  public var isOptional: Bool

  public init(
    family: AddressFamily,
    source: IPAddress? = nil,
    destination: IPAddress? = nil,
    proto: IPsecProtocol = .esp,
    spi: UInt32 = 0,
    reqid: UInt32 = 0,
    mode: IPsecMode = .transport,
    isOptional: Bool = false
  ) {
    self.family = family
    self.source = source ?? .unspecified(family)
    self.destination = destination ?? .unspecified(family)
    self.proto = proto
    self.spi = spi
    self.reqid = reqid
    self.mode = mode
    self.isOptional = isOptional
  }
}

extension PolicyTemplate {
  /// The SA endpoints an outbound flow needs for this template (the kernel's
  /// `xfrm_tmpl_resolve_one`): tunnel and BEET templates name them (an unspecified source
  /// takes the flow's — the kernel would ask the routing table); transport uses the flow's.
  @inlinable
  public func outboundEndpoints(for flow: FlowKey) -> (family: AddressFamily, destination: UInt128, source: UInt128) {
    guard mode.takesEndpointsFromTemplate else { return (flow.family, flow.destination, flow.source) }
    return (family, destination.bits, source.isUnspecified ? flow.source : source.bits)
  }
}
