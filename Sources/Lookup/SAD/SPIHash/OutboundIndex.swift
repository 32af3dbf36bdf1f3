/// The outbound index of `SPIHashTable`: SAs grouped by the kernel's `bydst` key
/// (namespace, family, destination, source, reqid), one hash entry per distinct key and a
/// doubly linked list of slots per key — so that thousands of SAs of one tunnel (PFP SAs share
/// their endpoints and reqid) cost O(1) to add and remove instead of one long probe run.
@usableFromInline
internal struct _OutboundIndex: Sendable {
  @usableFromInline
  internal struct Key: Hashable, Sendable, SeededHashable {
    var destination: UInt128
    var source: UInt128
    var namespace: UInt32
    var reqid: UInt32
    var family: UInt8

    init(namespace: UInt32, family: AddressFamily, destination: UInt128, source: UInt128, reqid: UInt32) {
      self.destination = destination
      self.source = source
      self.namespace = namespace
      self.reqid = reqid
      self.family = family.rawValue
    }

    init(_ sa: SecurityAssociation) {
      self.init(namespace: sa.namespace, family: sa.family, destination: sa.destination.bits, source: sa.source.bits,
                reqid: sa.reqid)
    }

    @usableFromInline
    func seededHash(_ seed: UInt64) -> UInt64 {
      let header = UInt64(reqid) << 32 | UInt64(namespace) ^ UInt64(family) << 24
      return SeededHash.mix(SeededHash.mix(SeededHash.mix(seed, header), destination), source)
    }
  }

  static let none = UInt32.max
  internal var _heads: SeededHashMap<Key, UInt32>
  internal var _next: [UInt32] = []
  internal var _previous: [UInt32] = []
  internal private(set) var count = 0

  init(seed: UInt64) { _heads = SeededHashMap(seed: seed) }

  /// Adds `slot` at the head of its key's list.
  mutating func insert(slot: UInt32, key: Key) {
    let s = Int(slot)
    if s >= _next.count {
      _next.append(contentsOf: repeatElement(Self.none, count: s + 1 - _next.count))
      _previous.append(contentsOf: repeatElement(Self.none, count: s + 1 - _previous.count))
    }
    let head = _heads[key] ?? Self.none
    _next[s] = head
    _previous[s] = Self.none
    if head != Self.none { _previous[Int(head)] = slot }
    _heads.updateValue(slot, forKey: key)
    count += 1
  }

  /// Unlinks `slot` from its key's list.
  mutating func remove(slot: UInt32, key: Key) {
    let s = Int(slot)
    let next = _next[s]
    let previous = _previous[s]
    if previous == Self.none {
      if next == Self.none { _heads.removeValue(forKey: key) } else { _heads.updateValue(next, forKey: key) }
    } else {
      _next[Int(previous)] = next
    }
    if next != Self.none { _previous[Int(next)] = previous }
    _next[s] = Self.none
    _previous[s] = Self.none
    count -= 1
  }

  /// Calls `body` with every slot of `key`.
  func forEach(key: Key, _ body: (UInt32) -> Void) {
    var slot = _heads[key] ?? Self.none
    while slot != Self.none {
      body(slot)
      slot = _next[Int(slot)]
    }
  }

  var memoryFootprint: Int { _heads.memoryFootprint + (_next.capacity + _previous.capacity) * 4 }
}
