import Testing
import Lookup

/// Hand-written kernel cases for every rule of SEMANTICS.md, run against every SPD structure
/// in the catalog (each must give the reference's answers).
@Suite("SPD semantics (SEMANTICS.md)")
struct PolicySemanticsTests {
  static let structures = StructureCatalog.policyDatabaseNames

  func make(_ name: String) -> any PolicyDatabase { try! StructureCatalog.makePolicyDatabase(named: name) }

  func policy(_ sel: PolicySelector, priority: UInt32, direction: PolicyDirection = .out, action: PolicyAction = .allow,
              mark: MarkSelector = .any, ifID: UInt32 = 0, type: PolicyType = .main) -> Policy {
    Policy(selector: sel, priority: priority, direction: direction, type: type, action: action, mark: mark,
           interfaceID: ifID)
  }

  @Test(arguments: structures) func lowestPriorityValueWins(name: String) throws {
    var db = make(name)
    let broad = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 10))
    let narrow = try db.insert(policy(selector("10.0.0.0/8", "192.168.0.0/16"), priority: 20))
    let best = try db.insert(policy(selector("10.1.0.0/16", "192.168.1.0/24"), priority: 5))
    #expect(db.lookup(flow("10.1.2.3", "192.168.1.9")).index == best)
    #expect(db.lookup(flow("10.2.2.3", "192.168.1.9")).index == broad, "priority beats specificity")
    try db.remove(broad)
    #expect(db.lookup(flow("10.2.2.3", "192.168.1.9")).index == narrow)
  }

  @Test(arguments: structures) func equalPriorityOlderWins(name: String) throws {
    var db = make(name)
    let older = try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7))
    _ = try db.insert(policy(selector("10.1.0.0/16", "0.0.0.0/0"), priority: 7))
    #expect(db.lookup(flow("10.1.1.1", "1.1.1.1")).index == older)
  }

  @Test(arguments: structures) func replacementKeepsIndexAndBecomesYoungest(name: String) throws {
    var db = make(name)
    let first = try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7, action: .allow))
    let second = try db.insert(policy(selector("10.1.0.0/16", "0.0.0.0/0"), priority: 7))
    #expect(db.lookup(flow("10.1.1.1", "1.1.1.1")).index == first)
    let replaced = try db.update(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7, action: .block))
    #expect(replaced == first, "update keeps the index")
    #expect(db.lookup(flow("10.1.1.1", "1.1.1.1")).index == second, "the replacement is now the youngest")
    #expect(db.lookup(flow("10.2.1.1", "1.1.1.1")) == PolicyLookupResult(index: first, action: .block))
    #expect(db.count == 2)
    // update of a policy that does not exist adds it.
    let added = try db.update(policy(selector("11.0.0.0/8", "0.0.0.0/0"), priority: 1))
    #expect(db.count == 3 && db.lookup(flow("11.0.0.1", "1.1.1.1")).index == added)
  }

  @Test(arguments: structures) func duplicateSelectorIsAnExistsErrorWhateverThePriority(name: String) throws {
    var db = make(name)
    let index = try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7))
    #expect(throws: LookupError.policyExists(existingIndex: index)) {
      try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 1))
    }
    // Host bits make a different selector; so do mark, if_id, type and direction.
    try db.insert(policy(selector("10.1.2.3/8", "0.0.0.0/0"), priority: 7))
    try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7, mark: MarkSelector(value: 1, mask: 1)))
    try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7, ifID: 3))
    try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7, type: .sub))
    try db.insert(policy(selector("10.0.0.0/8", "0.0.0.0/0"), priority: 7, direction: .in))
    #expect(db.count == 6)
    // The failed insert changed nothing.
    #expect(db.lookup(flow("10.9.9.9", "1.1.1.1")).index == index)
  }

  @Test(arguments: structures) func markValueMask(name: String) throws {
    var db = make(name)
    let marked = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 1,
                                      mark: MarkSelector(value: 0x10, mask: 0xF0)))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", mark: 0x1F)).index == marked)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", mark: 0x20)).index == 0)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", mark: 0)).index == 0)
  }

  @Test(arguments: structures) func interfaceIDIsExact(name: String) throws {
    var db = make(name)
    let bound = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 1, ifID: 7))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifID: 7)).index == bound)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifID: 0)).index == 0, "if_id 0 is not a wildcard")
    let unbound = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 2))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifID: 7)).index == bound)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifID: 0)).index == unbound)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifID: 8)).index == 0)
  }

  @Test(arguments: structures) func ifindexZeroIsAny(name: String) throws {
    var db = make(name)
    let onTwo = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0", ifindex: 2), priority: 1))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifindex: 2)).index == onTwo)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifindex: 3)).index == 0)
    let any = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 2))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", ifindex: 3)).index == any)
  }

  @Test(arguments: structures) func protocolAnyAndExact(name: String) throws {
    var db = make(name)
    let udp = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0", proto: .number(17)), priority: 1))
    let any = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 2))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", proto: 17)).index == udp)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", proto: 6)).index == any)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", proto: 0)).index == any)
  }

  @Test(arguments: structures) func icmpTypeAndCodeLiveInThePortFields(name: String) throws {
    var db = make(name)
    let echo = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0", sport: .exactly(8), dport: .exactly(0),
                                             proto: .number(1)), priority: 1))
    let unreachable = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0", sport: .exactly(3),
                                                    proto: .number(1)), priority: 2))
    let a = v4("1.1.1.1"), b = v4("2.2.2.2")
    #expect(db.lookup(.icmp(source: a, destination: b, type: 8, code: 0)).index == echo)
    #expect(db.lookup(.icmp(source: a, destination: b, type: 8, code: 1)).index == 0)
    #expect(db.lookup(.icmp(source: a, destination: b, type: 3, code: 4)).index == unreachable)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", sport: 8, dport: 0, proto: 6)).index == 0, "TCP port 8 is not ICMP")
  }

  @Test(arguments: structures) func portValueMaskAndRange(name: String) throws {
    var db = make(name)
    let masked = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0", dport: PortSelector(value: 0x0100, mask: 0xFF00)),
                                      priority: 1))
    let range = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0", dport: try PortSelector(low: 1000, high: 1100)),
                                     priority: 2))
    let oddMask = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0", sport: PortSelector(value: 1, mask: 0x0001)),
                                       priority: 3))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", dport: 0x01FF)).index == masked)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", dport: 1050)).index == range)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", dport: 1101)).index == 0)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", sport: 5, dport: 1101)).index == oddMask)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", sport: 4, dport: 999)).index == 0)
  }

  @Test(arguments: structures) func ipv6AndNoCrossFamilyMatch(name: String) throws {
    var db = make(name)
    let v6Policy = try db.insert(policy(selector("2001:db8::/32", "::/0"), priority: 1))
    let v4Any = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 2))
    #expect(db.lookup(flow("2001:db8:1::5", "2001:db9::1")).index == v6Policy)
    #expect(db.lookup(flow("2001:db9::5", "2001:db9::1")).index == 0, "an IPv4 any-policy never matches IPv6")
    #expect(db.lookup(flow("32.1.13.184", "1.1.1.1")).index == v4Any, "the IPv4 address with the same top bits")
  }

  @Test(arguments: structures) func defaultActionPerDirection(name: String) throws {
    var db = make(name)
    db.defaultActions = DefaultActions(inbound: .block, outbound: .allow, forward: .block)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", direction: .in)) == .noMatch(.block))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", direction: .out)) == .noMatch(.allow))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", direction: .fwd)) == .noMatch(.block))
    let out = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 1, direction: .out, action: .block))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", direction: .out)) == PolicyLookupResult(index: out, action: .block))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", direction: .in)) == .noMatch(.block), "policies are per direction")
  }

  @Test(arguments: structures) func policyTypeIsPartOfTheLookup(name: String) throws {
    var db = make(name)
    let sub = try db.insert(policy(selector("0.0.0.0/0", "0.0.0.0/0"), priority: 1, type: .sub))
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2")).index == 0)
    #expect(db.lookup(flow("1.1.1.1", "2.2.2.2", type: .sub)).index == sub)
  }

  @Test(arguments: structures) func indexesAreKernelStyle(name: String) throws {
    var db = make(name)
    let a = try db.insert(policy(selector("1.0.0.0/8", "0.0.0.0/0"), priority: 1, direction: .out))
    let b = try db.insert(policy(selector("2.0.0.0/8", "0.0.0.0/0"), priority: 1, direction: .in))
    let c = try db.insert(policy(selector("3.0.0.0/8", "0.0.0.0/0"), priority: 1, direction: .fwd))
    #expect([a, b, c] == [1, 8 | 0, 16 | 2])
    var explicit = policy(selector("4.0.0.0/8", "0.0.0.0/0"), priority: 1)
    explicit.index = 0x2000_0001
    #expect(try db.insert(explicit) == 0x2000_0001)
    explicit.selector = selector("5.0.0.0/8", "0.0.0.0/0")
    #expect(throws: LookupError.indexInUse(0x2000_0001)) { try db.insert(explicit) }
    explicit.index = 0x2000_0000
    #expect(throws: LookupError.indexDirectionMismatch(index: 0x2000_0000, direction: .out)) { try db.insert(explicit) }
    #expect(throws: LookupError.policyNotFound(index: 12345)) { try db.remove(12345) }
    #expect(db.policy(index: a)?.selector == selector("1.0.0.0/8", "0.0.0.0/0"))
    #expect(db.policies.map(\.index) == [a, b, c, 0x2000_0001], "oldest first")
  }
}
