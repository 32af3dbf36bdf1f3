/// A security association: an SAD entry (the parts of `struct xfrm_state` that decide lookups).
///
/// `id` is the handle the SAD knows the SA by (the kernel has none; Lookup needs one so that
/// every structure can answer the same value and a caller can remove what it added). 0 asks
/// the table to assign one.
///
/// An SA's own `selector`, when present, must also match the flow for outbound use (the
/// kernel's `x->sel` check in `xfrm_state_look_at`).
public struct SecurityAssociation: Hashable, Sendable {
  public var id: UInt32
  public var spi: UInt32
  public var proto: IPsecProtocol
  public var family: AddressFamily
  public var mode: IPsecMode
  public var reqid: UInt32
  public var destination: IPAddress
  /// Unspecified (`0.0.0.0`, `::`) = an SA installed with a wildcard source.
  public var source: IPAddress
  public var mark: MarkSelector
  public var interfaceID: UInt32
  public var selector: PolicySelector?
  /// The anti-replay window in packets (0 = no replay protection).
  public var replayWindow: UInt32
  /// Lookup's per-VM SPI namespace (0 = the default context).
  public var namespace: UInt32
  /// Which inbound key identifies this SA in RFC 4301 mode; the kernel always uses (SPI, dst).
  public var inboundMatch: InboundMatch

  /// The largest replay window the kernel accepts (`XFRMA_REPLAY_ESN_MAX`).
  public static let maximumReplayWindow: UInt32 = 4096

  /// Creates an SA.
  /// - Throws: `LookupError.invalidSPI` for SPI 0 or the reserved 1–255 (ESP, AH) or an IPcomp
  ///   CPI outside 1–65535; `.familyMismatch` when the addresses' families differ from `family`;
  ///   `.invalidReplayWindow` above 4096.
  public init(
    id: UInt32 = 0,
    spi: UInt32,
    proto: IPsecProtocol = .esp,
    mode: IPsecMode = .tunnel,
    reqid: UInt32 = 0,
    destination: IPAddress,
    source: IPAddress? = nil,
    mark: MarkSelector = .any,
    interfaceID: UInt32 = 0,
    selector: PolicySelector? = nil,
    replayWindow: UInt32 = 0,
    namespace: UInt32 = 0,
    inboundMatch: InboundMatch = .spiAndDestination
  ) throws(LookupError) {
    try Self._check(spi: spi, proto: proto, family: destination.family, destination: destination,
                    source: source ?? .unspecified(destination.family), replayWindow: replayWindow)
    self.id = id
    self.spi = spi
    self.proto = proto
    self.family = destination.family
    self.mode = mode
    self.reqid = reqid
    self.destination = destination
    self.source = source ?? .unspecified(destination.family)
    self.mark = mark
    self.interfaceID = interfaceID
    self.selector = selector
    self.replayWindow = replayWindow
    self.namespace = namespace
    self.inboundMatch = inboundMatch
  }
}

extension SecurityAssociation {
  /// Checks what `init` checks, again: the SPI for the protocol (ESP and AH above 255,
  /// IPcomp 1...65535), one family for both addresses, the replay window. The fields are
  /// `var`s, so every SAD runs this on insert: an SA changed after it was made cannot
  /// carry, say, SPI 0 into a table.
  public func validate() throws(LookupError) {
    try Self._check(spi: spi, proto: proto, family: family, destination: destination, source: source,
                    replayWindow: replayWindow)
  }

  static func _check(spi: UInt32, proto: IPsecProtocol, family: AddressFamily, destination: IPAddress,
                     source: IPAddress, replayWindow: UInt32) throws(LookupError) {
    switch proto {
    case .esp, .ah: guard spi > 255 else { throw .invalidSPI(spi) }
    case .ipcomp: guard spi > 0 && spi <= 0xFFFF else { throw .invalidSPI(spi) }
    }
    guard destination.family == family, source.family == family else { throw .familyMismatch }
    guard replayWindow <= maximumReplayWindow else { throw .invalidReplayWindow(Int(replayWindow)) }
  }
}

/// The RFC 4301 inbound lookup form an SA is registered under (§4.1: "each SAD entry records
/// which form applies"). Only used by the RFC 4301 inbound mode.
public enum InboundMatch: UInt8, Hashable, Sendable, CaseIterable {
  /// {SPI} (and protocol) alone: unicast SAs chosen by the receiver.
  case spi = 0
  /// {SPI, destination}: the kernel's form and the default.
  case spiAndDestination = 1
  /// {SPI, destination, source}: e.g. source-specific multicast.
  case spiDestinationAndSource = 2
}

/// What an inbound packet gives an SAD lookup.
public struct SALookupKey: Hashable, Sendable {
  public var destination: UInt128
  public var source: UInt128
  public var spi: UInt32
  public var mark: UInt32
  public var namespace: UInt32
  public var proto: IPsecProtocol
  public var family: AddressFamily

  @inlinable
  public init(destination: IPAddress, source: IPAddress? = nil, spi: UInt32, proto: IPsecProtocol = .esp,
              mark: UInt32 = 0, namespace: UInt32 = 0) {
    self.destination = destination.bits
    self.source = source?.bits ?? 0
    self.spi = spi
    self.mark = mark
    self.namespace = namespace
    self.proto = proto
    self.family = destination.family
  }
}

/// The answer of an SA lookup: the SA's id, or none.
public struct SALookupResult: Hashable, Sendable {
  /// The SA's id; 0 = no SA.
  public var id: UInt32

  @inlinable public init(id: UInt32) { self.id = id }

  public static let none = SALookupResult(id: 0)
  @inlinable public var found: Bool { id != 0 }
}
