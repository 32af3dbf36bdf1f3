/// Every way the library refuses input at its API boundary. Thrown with typed throws, so a
/// caller can switch over the cases; `description` is a message fit for a user.
public enum LookupError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A prefix longer than its family's width (or negative).
  case invalidPrefixLength(Int, family: AddressFamily)
  /// A port range whose low end is above its high end, or a port outside 0...65535.
  case invalidPortRange(low: Int, high: Int)
  /// A protocol number outside 0...255.
  case invalidProtocol(Int)
  /// A DSCP value outside 0...63.
  case invalidDSCP(Int)
  /// SPI 0 or a reserved SPI 1–255 (ESP/AH), or an IPcomp CPI outside 1–65535.
  case invalidSPI(UInt32)
  /// A replay window above 4096 packets.
  case invalidReplayWindow(Int)
  /// Addresses or prefixes of different families where one family is required.
  case familyMismatch
  /// More than `Policy.maximumTemplates` templates.
  case tooManyTemplates(Int)
  /// An explicit policy index whose low three bits are not the policy's direction.
  case indexDirectionMismatch(index: UInt32, direction: PolicyDirection)
  /// An explicit policy index already used by another policy.
  case indexInUse(UInt32)
  /// A policy with the same selector, direction, type, mark and if_id exists (kernel `EEXIST`).
  case policyExists(existingIndex: UInt32)
  /// No policy has this index (or identity).
  case policyNotFound(index: UInt32)
  /// An SA with the same (namespace, destination, SPI, protocol, family) and overlapping mark
  /// exists, or an SA with this id does.
  case securityAssociationExists(existingID: UInt32)
  /// No SA has this id.
  case securityAssociationNotFound(id: UInt32)
  /// Every SPI of the range is in use (or reserved) for this namespace, destination and protocol.
  case spiRangeExhausted(namespace: UInt32, low: UInt32, high: UInt32)
  /// An SPI range that is empty or includes 0 or the reserved 1–255.
  case invalidSPIRange(low: UInt32, high: UInt32)
  /// A namespace already holds its configured maximum of SAs.
  case namespaceFull(namespace: UInt32, limit: Int)
  /// A VLAN id outside 0…4095.
  case invalidVLAN(Int)
  /// A queue, table or cap refused an entry because it is full.
  case capacityExceeded(String)
  /// A structure name no catalog knows.
  case unknownStructure(String)
  /// A structure was asked for a capability it lacks (e.g. an IPv6 set in an IPv4-only one).
  case unsupported(String)

  public var description: String {
    switch self {
    case .invalidPrefixLength(let length, let family):
      "invalid prefix length /\(length): \(family == .ipv4 ? "IPv4 allows 0...32" : "IPv6 allows 0...128")"
    case .invalidPortRange(let low, let high):
      "invalid port range \(low) : \(high): expected 0 <= low <= high <= 65535"
    case .invalidProtocol(let value): "invalid protocol \(value): expected 0...255"
    case .invalidDSCP(let value): "invalid DSCP \(value): expected 0...63"
    case .invalidSPI(let spi): "invalid SPI \(spi): 0 is invalid and 1...255 are reserved (RFC 4303)"
    case .invalidReplayWindow(let size): "invalid replay window \(size): expected 0...4096"
    case .familyMismatch: "addresses of different families (IPv4 and IPv6) in one selector or SA"
    case .tooManyTemplates(let count): "\(count) templates: at most \(Policy.maximumTemplates) allowed"
    case .indexDirectionMismatch(let index, let direction):
      "policy index \(index) does not encode direction \(direction) in its low three bits"
    case .indexInUse(let index): "policy index \(index) is already in use"
    case .policyExists(let index): "a policy with this selector, direction, type, mark and if_id exists (index \(index))"
    case .policyNotFound(let index): "no policy with index \(index)"
    case .securityAssociationExists(let id): "a conflicting SA exists (id \(id))"
    case .securityAssociationNotFound(let id): "no SA with id \(id)"
    case .spiRangeExhausted(let namespace, let low, let high):
      "no free SPI in \(low)...\(high) for namespace \(namespace): every one is in use or reserved"
    case .invalidSPIRange(let low, let high): "invalid SPI range \(low)...\(high): expected 256 <= low <= high"
    case .namespaceFull(let namespace, let limit): "namespace \(namespace) already holds its maximum of \(limit) SAs"
    case .invalidVLAN(let vlan): "invalid VLAN id \(vlan): expected 0...4095"
    case .capacityExceeded(let what): "capacity exceeded: \(what)"
    case .unknownStructure(let name): "unknown structure '\(name)' (see `lookupbench list`)"
    case .unsupported(let what): "unsupported: \(what)"
    }
  }
}
