/// What identifies a virtual machine's IPsec context on a host that terminates IPsec for
/// many VMs (offload): the VLAN its traffic arrives on and its MAC address.
public struct VirtualMachineIdentity: Hashable, Sendable {
  /// 0 … 4095 (0 = untagged).
  public let vlan: UInt16
  /// The 48-bit MAC address in the low bits.
  public let mac: UInt64

  /// - Throws: `LookupError.invalidVLAN` for a VLAN id above 4095.
  public init(vlan: Int, mac: UInt64) throws(LookupError) {
    guard (0...4095).contains(vlan) else { throw .invalidVLAN(vlan) }
    self.vlan = UInt16(vlan)
    self.mac = mac & 0xFFFF_FFFF_FFFF
  }

  /// From the six bytes of a MAC address, most significant first.
  public init(vlan: Int, macBytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) throws(LookupError) {
    let m = macBytes
    try self.init(vlan: vlan, mac: UInt64(m.0) << 40 | UInt64(m.1) << 32 | UInt64(m.2) << 24 | UInt64(m.3) << 16
                    | UInt64(m.4) << 8 | UInt64(m.5))
  }

  /// VLAN and MAC in one word (the VLAN above the MAC's 48 bits).
  @inlinable var packed: UInt64 { UInt64(vlan) << 48 | mac }
}

/// Assigns each VM identity a namespace id (1, 2, …; 0 is the host's own context) and finds
/// it again per packet with one seeded hash probe. Ids are dense and collision-free (a hash
/// of VLAN + MAC into 32 bits could merge two VMs' SPI spaces); a released id is reused.
public struct NamespaceRegistry: Sendable {
  /// `_identities[id - 1]`, or nil for a released id.
  @usableFromInline internal var _identities: [VirtualMachineIdentity?] = []
  @usableFromInline internal var _index: SlotHashSet
  @usableFromInline internal var _free: [UInt32] = []

  public init(seed: UInt64 = SeededHash.randomSeed()) {
    _index = SlotHashSet(seed: seed)
  }

  /// The number of registered VMs.
  public var count: Int { _index.count }

  @usableFromInline
  static func _hash(seed: UInt64, _ identity: VirtualMachineIdentity) -> UInt64 { SeededHash.mix(seed, identity.packed) }

  /// The namespace of a registered VM, or nil (the datapath's per-packet demultiplexing).
  @inlinable
  public func namespace(of identity: VirtualMachineIdentity) -> UInt32? {
    _index.find(hash: Self._hash(seed: _index.seed, identity)) { _identities[Int($0)] == identity }.map { $0 + 1 }
  }

  /// The namespace of a VM, registering it when it is new. A new VM never gets an id for
  /// which `isTaken` holds (e.g. one that still has SAs); such ids are skipped for good.
  public mutating func register(_ identity: VirtualMachineIdentity, avoiding isTaken: (UInt32) -> Bool = { _ in false })
  -> UInt32 {
    if let existing = namespace(of: identity) { return existing }
    var slot = UInt32.max
    while let free = _free.popLast() {
      if !isTaken(free + 1) {
        slot = free
        break
      }
    }
    if slot == UInt32.max {
      while isTaken(UInt32(_identities.count) + 1) { _identities.append(nil) }
      slot = UInt32(_identities.count)
      _identities.append(identity)
    } else {
      _identities[Int(slot)] = identity
    }
    _index.insert(slot, hash: Self._hash(seed: _index.seed, identity))
    return slot + 1
  }

  /// Forgets a VM; its namespace id may be handed to the next new VM.
  /// - Returns: whether the namespace was registered.
  @discardableResult
  public mutating func release(_ namespace: UInt32) -> Bool {
    guard namespace > 0, Int(namespace) <= _identities.count, let identity = _identities[Int(namespace - 1)] else {
      return false
    }
    _index.remove(namespace - 1, hash: Self._hash(seed: _index.seed, identity))
    _identities[Int(namespace - 1)] = nil
    _free.append(namespace - 1)
    return true
  }

  /// The VM a namespace belongs to.
  public func identity(of namespace: UInt32) -> VirtualMachineIdentity? {
    guard namespace > 0, Int(namespace) <= _identities.count else { return nil }
    return _identities[Int(namespace - 1)]
  }
}
